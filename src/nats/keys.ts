/**
 * The key material `snowgate init` leaves in its dir, and reading it back (`nats.dir`).
 *
 * DIR/snowgate-nats.json (0600) holds every key; DIR/sys.creds (0600) is the system user's
 * creds for tools such as the `nats` CLI; DIR/key-encryption.key (0600) seals the signing-key seeds
 * the registry's store keeps. Both are read-only after init: keys added later
 * (rotated signing keys) live in the registry's store, see state.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkXkey, type CalloutKeys } from './callout-keys.js';
import { decodePublicKey, decodeSeed, type NkeyRole } from './nkey.js';
import { createSigner } from './signer.js';
import { formatCreds } from './user-jwt.js';

export const MANIFEST_FILE = 'snowgate-nats.json';
export const SYSTEM_CREDS_FILE = 'sys.creds';
export const SERVER_CONF_FILE = 'nats-server.conf';
/** The key-encryption key that seals signing-key seeds in the store (seed-seal.ts); nats.keyEncryptionKeyFile by default. */
export const KEK_FILE = 'key-encryption.key';
/** `init --auth-callout`: the callout user's creds, for the registry (0600). */
export const CALLOUT_CREDS_FILE = 'callout.creds';
/** `init --auth-callout`: the deny-all sentinel's creds clients send with their token (callout-keys.ts). */
export const SENTINEL_CREDS_FILE = 'sentinel.creds';

export interface NamedKey {
  name: string;
  publicKey: string;
  seed: string;
  jwt: string;
}

/** The manifest's JSON. */
export interface NatsKeyManifest {
  version: 1;
  operator: NamedKey;
  systemAccount: NamedKey;
  systemUser: NamedKey;
  account: NamedKey;
  /** The application account's first signing key. */
  signingKey: { publicKey: string; seed: string };
  /** Only from `init --auth-callout`. */
  authCallout?: CalloutKeys;
}

export interface NatsKeys extends NatsKeyManifest {
  /** Absolute. */
  dir: string;
  /** The system user's creds text, for pushing account JWTs. */
  systemCreds: string;
}

export class InvalidNatsKeys extends Error {}

function checkPair(what: string, k: unknown, role: NkeyRole): void {
  const o = k as { publicKey?: unknown; seed?: unknown } | undefined;
  if (typeof o?.publicKey !== 'string' || typeof o.seed !== 'string') {
    throw new InvalidNatsKeys(`${what}: publicKey and seed are required`);
  }
  try {
    decodePublicKey(o.publicKey, role);
    if (decodeSeed(o.seed).role !== role || createSigner(o.seed).publicKey !== o.publicKey) throw new Error();
  } catch {
    throw new InvalidNatsKeys(`${what}: the seed does not match ${o.publicKey}`);
  }
}

function checkNamed(what: string, k: unknown, role: NkeyRole): void {
  checkPair(what, k, role);
  const o = k as { name?: unknown; jwt?: unknown };
  if (typeof o.name !== 'string' || typeof o.jwt !== 'string')
    throw new InvalidNatsKeys(`${what}: name and jwt are required`);
}

/** Reads and checks what `snowgate init` wrote to `dir`. */
export async function loadNatsKeys(dir: string): Promise<NatsKeys> {
  const abs = path.resolve(dir);
  const file = path.join(abs, MANIFEST_FILE);
  let m: NatsKeyManifest;
  try {
    m = JSON.parse(await readFile(file, 'utf8')) as NatsKeyManifest;
  } catch (e) {
    throw new InvalidNatsKeys(`cannot read ${file} (run \`snowgate init --out ${dir}\`): ${(e as Error).message}`);
  }
  if (m.version !== 1) throw new InvalidNatsKeys(`${file}: unsupported version ${String(m.version)}`);
  checkNamed('operator', m.operator, 'operator');
  checkNamed('systemAccount', m.systemAccount, 'account');
  checkNamed('systemUser', m.systemUser, 'user');
  checkNamed('account', m.account, 'account');
  checkPair('signingKey', m.signingKey, 'account');
  if (m.authCallout !== undefined) {
    checkNamed('authCallout.account', m.authCallout.account, 'account');
    checkNamed('authCallout.user', m.authCallout.user, 'user');
    checkNamed('authCallout.sentinel', m.authCallout.sentinel, 'user');
    try {
      checkXkey(m.authCallout.xkey);
    } catch (e) {
      throw new InvalidNatsKeys(`authCallout.xkey: ${(e as Error).message}`);
    }
  }
  return { ...m, dir: abs, systemCreds: formatCreds(m.systemUser.jwt, m.systemUser.seed) };
}
