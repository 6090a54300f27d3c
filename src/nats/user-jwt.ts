/**
 * User JWTs and creds for a lease (CONTRACT §5): signed by an account signing key, so the JWT
 * names its account in `issuer_account`; `exp` is the lease's end in whole seconds, never later.
 */
import type { User } from '@nats-io/jwt';
import { signJwt, type JwtSigner } from './jwt-encode.js';
import { decodePublicKey, generateNkey, InvalidNkey } from './nkey.js';
import { createSigner } from './signer.js';

export interface IssueUserJwtOptions {
  /** The application account's identity public key ("A…"). */
  account: string;
  /** An account signing key: a seed, or (on hot paths) a signer made once from it. */
  signingKey: string | JwtSigner;
  /** The user's public nkey ("U…"). */
  userPublicKey: string;
  name: string;
  expiresAtMs: number;
  pub: string[];
  sub: string[];
  tags: string[];
  /** Issue time; Date.now() by default. */
  nowMs?: number;
}

// NATS reads an empty allow list as "everything": an empty list from the templates means nothing.
function permission(allow: string[]): { allow: string[] } | { deny: string[] } {
  return allow.length > 0 ? { allow: [...allow] } : { deny: ['>'] };
}

export function issueUserJwt(o: IssueUserJwtOptions): string {
  decodePublicKey(o.account, 'account');
  decodePublicKey(o.userPublicKey, 'user');
  const signer = typeof o.signingKey === 'string' ? createSigner(o.signingKey) : o.signingKey;
  const issuer = signer.getPublicKey();
  if (!issuer.startsWith('A')) throw new InvalidNkey('user JWTs are signed by an account signing key');
  if (issuer === o.account) {
    // Signing with the identity key would work but forfeit rotation: the registry never does it.
    throw new InvalidNkey('sign user JWTs with an account signing key, not the account identity key');
  }
  const iat = Math.floor((o.nowMs ?? Date.now()) / 1000);
  const exp = Math.floor(o.expiresAtMs / 1000);
  if (exp <= iat) throw new RangeError(`a user JWT expiring at ${exp} would be dead on issue (iat ${iat})`);
  // Key order as @nats-io/jwt's encodeUser builds it (defaultUser, then issuer_account, type, version).
  const nats: Partial<User> = {
    data: -1,
    payload: -1,
    subs: -1,
    pub: permission(o.pub),
    sub: permission(o.sub),
    tags: [...o.tags],
    issuer_account: o.account,
    type: 'user',
    version: 2,
  };
  return signJwt({ exp, name: o.name, sub: o.userPublicKey, nats }, signer, iat);
}

/** A fresh user nkey, for clients that sent no public key of their own. */
export function newUserCreds(): { publicKey: string; seed: string } {
  return generateNkey('user');
}

export { formatCreds } from '../client/creds.js';
