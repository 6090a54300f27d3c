/**
 * The application account JWT, rebuilt from the authority state on every change: which signing
 * keys may sign users, which users are revoked, and limits.
 */
import type { Account, OperatorLimits } from '@nats-io/jwt';
import { signJwt, type JwtSigner } from './jwt-encode.js';
import { decodePublicKey } from './nkey.js';
import { revocationsJson, spliceJson } from './state.js';

/**
 * Explicit limits: @nats-io/jwt fills no defaults, and an account JWT without `limits` allows
 * zero connections. -1 is "unlimited"; JetStream is enabled by non-zero storage limits.
 */
export const APP_ACCOUNT_LIMITS: OperatorLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
  max_ack_pending: -1,
  mem_max_stream_bytes: -1,
  disk_max_stream_bytes: -1,
  max_bytes_required: false,
};

/** The system account: unlimited connections for the registry and servers, no JetStream. */
export const SYSTEM_ACCOUNT_LIMITS: OperatorLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

export interface AccountJwtInput {
  /** Signs account JWTs: the operator key. */
  operator: JwtSigner;
  accountPublicKey: string;
  name: string;
  /** Public keys allowed to sign this account's users. */
  signingKeys: readonly string[];
  /** User public key → unix second: JWTs of that user issued at or before it are refused. */
  revocations: ReadonlyMap<string, number>;
  limits?: OperatorLimits;
  /** The caller keeps this strictly increasing across the account's JWTs (see authority.ts). */
  iatSeconds: number;
}

export function buildAccountJwt(input: AccountJwtInput): string {
  decodePublicKey(input.accountPublicKey, 'account');
  for (const k of input.signingKeys) decodePublicKey(k, 'account');
  // In the state's own order, not sorted (15 ms at 20,000): a state's order is its stored JSON's,
  // so every replica builds the same bytes from the same version. Written as JSON once, into the
  // claims' JSON, where a placeholder holds its place.
  const revocations = input.revocations;
  const nats = {
    limits: { ...(input.limits ?? APP_ACCOUNT_LIMITS) },
    signing_keys: [...input.signingKeys],
    ...(revocations.size > 0 ? { revocations: 0 } : {}),
    type: 'account',
    version: 2,
  } satisfies Partial<Record<keyof Account, unknown>>;
  return signJwt(
    { name: input.name, sub: input.accountPublicKey, nats },
    input.operator,
    input.iatSeconds,
    revocations.size > 0 ? (json) => spliceJson(json, 'revocations', revocationsJson(revocations)) : undefined,
  );
}

/**
 * Drops revocations no JWT can need any more, in place (a copy of 20,000 costs 6 ms; the rest keep
 * their order). A revocation at second r covers JWTs with iat ≤ r, issued before (r + 1) s and
 * expiring within `horizonMs` (the longest lease plus clock skew) after that; nats-server may act
 * on an `exp` up to a second late, hence one more.
 */
export function pruneRevocations(revocations: Map<string, number>, nowMs: number, horizonMs: number): void {
  for (const [k, second] of revocations) if ((second + 2) * 1000 + horizonMs <= nowMs) revocations.delete(k);
}
