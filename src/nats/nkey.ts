/**
 * The NATS nkey text format (base32 of prefix | payload | CRC16-XMODEM, little endian), native.
 *
 * @nats-io/nkeys derives every key with pure-JS tweetnacl (one scalar multiplication costs
 * ~15 ms), which caps a registry at a few dozen grants a second. Keys here are generated and
 * derived with Node's own Ed25519; the text format is checked against @nats-io/nkeys in tests.
 */
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';

export type NkeyRole = 'operator' | 'account' | 'user' | 'server';

/** Prefix bytes, chosen by NATS so the first base32 character reads O, A, U, N (and S for seeds). */
const ROLE_BYTE: Record<NkeyRole, number> = { operator: 14 << 3, account: 0, user: 20 << 3, server: 13 << 3 };
const SEED_BYTE = 18 << 3;
const PRIVATE_BYTE = 15 << 3;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): Node imports nothing rawer.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class InvalidNkey extends Error {}

const ROLE_OF_BYTE = new Map((Object.entries(ROLE_BYTE) as [NkeyRole, number][]).map(([role, b]) => [b, role]));
const roleOf = (byte: number): NkeyRole | undefined => ROLE_OF_BYTE.get(byte);

// CRC16-XMODEM a byte at a time: nkeys are decoded on every grant and release.
const CRC_TABLE = Uint16Array.from({ length: 256 }, (_, b) => {
  let crc = b << 8;
  for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
});

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >>> 8) ^ b) & 0xff]!;
  return crc;
}

function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Each character's 5-bit value by char code; -1 for characters outside the alphabet. */
const BASE32_VALUE = Int8Array.from({ length: 128 }, (_, c) => ALPHABET.indexOf(String.fromCharCode(c)));

/** The bytes of canonical base32 text: no padding, every character in the alphabet, spare bits zero. */
function base32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    const v = BASE32_VALUE[text.charCodeAt(i)] ?? -1;
    if (v < 0) throw new InvalidNkey('not an nkey: illegal base32 character');
    value = ((value << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out[j++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  // One key, one spelling: a whole spare character, or spare bits set, is another text of it.
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) throw new InvalidNkey('not an nkey: wrong length');
  return out.subarray(0, j);
}

function withChecksum(payload: Uint8Array): string {
  const raw = new Uint8Array(payload.length + 2);
  raw.set(payload);
  const crc = crc16(payload);
  raw[payload.length] = crc & 0xff;
  raw[payload.length + 1] = crc >>> 8;
  return base32Encode(raw);
}

function checked(text: string, length: number): Uint8Array {
  const raw = base32Decode(text);
  if (raw.length !== length) throw new InvalidNkey('not an nkey: wrong length');
  const payload = raw.subarray(0, length - 2);
  if (crc16(payload) !== ((raw[length - 2] ?? 0) | ((raw[length - 1] ?? 0) << 8))) {
    throw new InvalidNkey('not an nkey: bad checksum');
  }
  return payload;
}

export function encodePublicKey(role: NkeyRole, raw: Uint8Array): string {
  if (raw.length !== 32) throw new InvalidNkey('a public key is 32 bytes');
  const payload = new Uint8Array(33);
  payload[0] = ROLE_BYTE[role];
  payload.set(raw, 1);
  return withChecksum(payload);
}

/** The "P…" form @nats-io/nkeys returns from getPrivateKey(): seed and public key together. */
export function encodePrivateKey(seed: Uint8Array, publicRaw: Uint8Array): string {
  const payload = new Uint8Array(65);
  payload[0] = PRIVATE_BYTE;
  payload.set(seed, 1);
  payload.set(publicRaw, 33);
  return withChecksum(payload);
}

export function encodeSeed(role: NkeyRole, raw: Uint8Array): string {
  if (raw.length !== 32) throw new InvalidNkey('a seed is 32 bytes');
  const r = ROLE_BYTE[role];
  const payload = new Uint8Array(34);
  // Two prefix bytes spread over base32 boundaries so the text starts with "S" + role letter.
  payload[0] = SEED_BYTE | (r >> 5);
  payload[1] = (r & 31) << 3;
  payload.set(raw, 2);
  return withChecksum(payload);
}

export function decodeSeed(seed: string): { role: NkeyRole; raw: Uint8Array } {
  const p = checked(seed, 36);
  const b0 = p[0] ?? 0;
  const b1 = p[1] ?? 0;
  if ((b0 & 0xf8) !== SEED_BYTE) throw new InvalidNkey('not an nkey seed');
  const role = roleOf(((b0 & 7) << 5) | ((b1 & 0xf8) >> 3));
  if (!role) throw new InvalidNkey('an nkey seed of an unsupported role');
  return { role, raw: p.slice(2) };
}

export function decodePublicKey(key: string, role?: NkeyRole): Uint8Array {
  const p = checked(key, 35);
  const r = roleOf(p[0] ?? -1);
  if (!r || (role && r !== role)) throw new InvalidNkey(`not ${role ? `an ${role}` : 'a'} public nkey`);
  return p.slice(1);
}

/** True when `key` is a well-formed public nkey (of `role`, when given). */
export function isPublicKey(key: string, role?: NkeyRole): boolean {
  try {
    decodePublicKey(key, role);
    return true;
  } catch {
    return false;
  }
}

/** Curve (X25519) keys, "X…" and "SX…": the xkeys nats-server seals auth callout requests with. */
const CURVE_BYTE = 23 << 3;

/** The raw 32-byte X25519 secret of a curve seed ("SX…"). */
export function decodeCurveSeed(seed: string): Uint8Array {
  const p = checked(seed, 36);
  const b0 = p[0] ?? 0;
  const b1 = p[1] ?? 0;
  if ((b0 & 0xf8) !== SEED_BYTE || (((b0 & 7) << 5) | ((b1 & 0xf8) >> 3)) !== CURVE_BYTE) {
    throw new InvalidNkey('not a curve seed');
  }
  return p.slice(2);
}

/** The raw 32-byte X25519 public key of an xkey ("X…"). */
export function decodeCurvePublicKey(key: string): Uint8Array {
  const p = checked(key, 35);
  if (p[0] !== CURVE_BYTE) throw new InvalidNkey('not a curve public key');
  return p.slice(1);
}

function viaPkcs8(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function viaJwk(raw: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(raw).toString('base64url'), x: '' },
    format: 'jwk',
  });
}

/**
 * How this runtime imports a raw seed fast. Node 20's OpenSSL 3.0 decodes PKCS#8 slowly (~0.5 ms
 * a key: most of a grant's cost when the registry makes the user key), while its JWK import
 * takes the seed alone (~0.05 ms) and derives the public key from it, ignoring `x`. Later Nodes
 * check `x`, so cannot import a bare seed that way, and decode PKCS#8 fast. The JWK way is used
 * only where it imports a seed to the very key PKCS#8 gives.
 */
let importSeed: ((raw: Uint8Array) => KeyObject) | undefined;

function seedImporter(): (raw: Uint8Array) => KeyObject {
  if (importSeed) return importSeed;
  const probe = randomBytes(32);
  let same = false;
  try {
    const a = viaJwk(probe).export({ format: 'jwk' });
    const b = viaPkcs8(probe).export({ format: 'jwk' });
    same = a.d === b.d && typeof a.x === 'string' && a.x === b.x;
  } catch {
    same = false;
  }
  return (importSeed = same ? viaJwk : viaPkcs8);
}

/** The Node key for a raw Ed25519 seed. */
export function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  return seedImporter()(raw);
}

/** The Node key for a raw 32-byte Ed25519 public key (JWK: no slow DER decoder on any Node). */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

export function publicKeyOf(role: NkeyRole, key: KeyObject): string {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new InvalidNkey('not an Ed25519 key');
  return encodePublicKey(role, Buffer.from(x, 'base64url'));
}

/** A fresh nkey pair: the seed is the secret, the public key names it in JWTs. */
export function generateNkey(role: NkeyRole): { publicKey: string; seed: string } {
  // Not generateKeyPairSync: on Node 20 a JWK export can deadlock when GC collects a finished
  // key-generation job at that moment (seen as a hang in our tests). Importing a random seed is
  // as fast (privateKeyFromRaw) and safe.
  const raw = randomBytes(32);
  return { publicKey: publicKeyOf(role, privateKeyFromRaw(raw)), seed: encodeSeed(role, raw) };
}
