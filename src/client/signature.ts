/**
 * Signed lineage (CONTRACT §7 `signed: true`): `Snowflake-Sig` is the unpadded base64url Ed25519
 * signature, by the lease's NATS user key, over the UTF-8 bytes of
 *
 *     <Snowflake-Id as decimal> "\n" <subject> "\n" <lowercase hex SHA-256 of the payload>
 *
 * Any subscriber verifies it with the lease's `natsPublicKey` from `/v1/lineage` (a NATS user
 * nkey: base32 of a prefix byte, the 32-byte Ed25519 public key and a CRC16), so not even another
 * publisher allowed on the same subject can forge a message under someone else's ID.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { decodePublicKey, decodeSeed, privateKeyFromRaw, publicKeyFromRaw } from '../nats/nkey.js';

export const SIG_HEADER = 'Snowflake-Sig';

export function signedBytes(id: string, subject: string, payload: Uint8Array): Buffer {
  const digest = createHash('sha256').update(payload).digest('hex');
  return Buffer.from(`${id}\n${subject}\n${digest}`, 'utf8');
}

export class MessageSigner {
  private readonly key: KeyObject;
  constructor(seed: string) {
    this.key = privateKeyFromRaw(decodeSeed(seed).raw);
  }
  sign(id: string, subject: string, payload: Uint8Array): string {
    return sign(null, signedBytes(id, subject, payload), this.key).toString('base64url');
  }
}

/** Public keys made into KeyObjects once each: importing one costs more than a verification. */
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 10_000;

function publicKeyObject(natsPublicKey: string): KeyObject {
  let k = keys.get(natsPublicKey);
  if (!k) {
    k = publicKeyFromRaw(decodePublicKey(natsPublicKey, 'user'));
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(natsPublicKey, k);
  }
  return k;
}

/** Whether `sig` is `natsPublicKey`'s signature of this message; false for anything malformed. */
export function verifySignature(
  natsPublicKey: string,
  sig: string,
  id: string,
  subject: string,
  payload: Uint8Array,
): boolean {
  if (!/^[A-Za-z0-9_-]{86}$/.test(sig)) return false; // 64 bytes, unpadded base64url
  try {
    return verify(
      null,
      signedBytes(id, subject, payload),
      publicKeyObject(natsPublicKey),
      Buffer.from(sig, 'base64url'),
    );
  } catch {
    return false;
  }
}
