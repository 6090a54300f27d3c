/**
 * What the auth callout grants a connect (CONTRACT §8), decided from a verified token and the
 * lease it names: pure, so every rule is tested without a server.
 *
 * - A token alone: a reader. It may subscribe to the subscribe templates expanded for every pool
 *   its issuer may lease in (templates naming {node} or {instance} are left out: a reader holds no
 *   node) and publish nothing; its JWT ends with the token, and at most `readerTtlMs` from now.
 * - A token with the id of an active lease of that principal: a publisher with that lease's
 *   permissions and tags, ending with the lease and never after the token.
 * - Anything else: refused, with a reason for the metrics (never the token).
 */
import type { IssuerConfig, NatsConfig } from '../config/types.js';
import type { Lease, Principal } from '../registry/types.js';
import { leaseUserClaims } from './lease-credentials.js';
import { expandPermissions } from './permissions.js';

/** Why a connect was refused: a metric label, and the error the response carries. */
export type RefusalReason =
  | 'no_token'
  | 'malformed'
  | 'invalid_token'
  | 'forbidden'
  | 'expired'
  | 'lease_not_found'
  | 'lease_not_yours'
  | 'lease_ended'
  | 'revocations_full'
  | 'unavailable'
  | 'internal';

export class CalloutRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** The connect option `token`: a bearer token, or JSON naming a lease too. */
export interface CalloutToken {
  token: string;
  lease?: string;
}

/** Longest connect token accepted: the verifier refuses bearer tokens over 16 KiB anyway. */
const MAX_CONNECT_TOKEN = 20_000;

export function parseConnectToken(raw: string | undefined): CalloutToken {
  if (raw === undefined || raw.length === 0) throw new CalloutRefusal('no_token', 'no token in the connect options');
  if (raw.length > MAX_CONNECT_TOKEN) throw new CalloutRefusal('malformed', 'token too long');
  if (!raw.startsWith('{')) return { token: raw };
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new CalloutRefusal('malformed', 'token is neither a bearer token nor JSON {"token","lease"}');
  }
  const o = v as { token?: unknown; lease?: unknown };
  if (typeof o.token !== 'string' || o.token.length === 0) {
    throw new CalloutRefusal('malformed', 'JSON token: "token" must be a non-empty string');
  }
  if (o.lease !== undefined && (typeof o.lease !== 'string' || o.lease.length === 0)) {
    throw new CalloutRefusal('malformed', 'JSON token: "lease" must be a lease id');
  }
  return { token: o.token, ...(typeof o.lease === 'string' ? { lease: o.lease } : {}) };
}

/** A token the HTTP path's verifier, bound claims and policies accepted. */
export interface CalloutIdentity {
  principal: Principal;
  issuer: IssuerConfig;
  /** The token's `exp` (ms); undefined when it has none (the verifier bounds its life otherwise). */
  tokenExpiresAtMs?: number;
}

export interface DecideInput {
  identity: CalloutIdentity;
  /** The lease the token named, as the store has it; undefined for a reader or when not found. */
  lease?: Lease;
  /** The id the token named, if any. */
  leaseId?: string;
  nowMs: number;
  readerTtlMs: number;
  /** Every configured pool's name. */
  pools: readonly string[];
  permissions: NatsConfig['permissions'];
}

export interface CalloutGrant {
  kind: 'reader' | 'publisher';
  /** The publisher's lease. */
  leaseId?: string;
  name: string;
  pub: string[];
  sub: string[];
  tags: string[];
  expiresAtMs: number;
}

/** A JWT with less than this left is refused rather than issued (its `exp` is whole seconds). */
const MIN_LIFE_MS = 1000;

const same = (a: Principal, b: Principal): boolean => a.issuer === b.issuer && a.subject === b.subject;

export function decideCallout(input: DecideInput): CalloutGrant {
  const { identity, nowMs } = input;
  const tokenEnd = identity.tokenExpiresAtMs ?? Number.POSITIVE_INFINITY;
  const name = `${identity.principal.issuer}:${identity.principal.subject}`;
  let grant: CalloutGrant;
  if (input.leaseId === undefined) {
    const pools = identity.issuer.pools ?? input.pools;
    const sub = new Set<string>();
    for (const pool of pools) {
      const values = { pool, subject: identity.principal.subject, issuer: identity.principal.issuer };
      for (const s of expandPermissions(input.permissions.subscribe, values)) sub.add(s);
    }
    grant = {
      kind: 'reader',
      name,
      pub: [],
      sub: [...sub],
      tags: [],
      expiresAtMs: Math.min(tokenEnd, nowMs + input.readerTtlMs),
    };
  } else {
    const lease = input.lease;
    if (!lease || lease.id !== input.leaseId) throw new CalloutRefusal('lease_not_found', 'no such lease');
    // Not telling a stranger whether the lease exists: the same answer as for an unknown id.
    if (!same(lease.principal, identity.principal)) throw new CalloutRefusal('lease_not_yours', 'no such lease');
    if (lease.endedAt !== undefined || lease.expiresAt <= nowMs) {
      throw new CalloutRefusal('lease_ended', 'the lease has ended');
    }
    grant = {
      kind: 'publisher',
      leaseId: lease.id,
      ...leaseUserClaims(lease, input.permissions),
      expiresAtMs: Math.min(tokenEnd, lease.expiresAt),
    };
  }
  if (grant.expiresAtMs - nowMs < MIN_LIFE_MS) throw new CalloutRefusal('expired', 'the token has expired');
  return grant;
}
