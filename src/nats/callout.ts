/**
 * The auth callout as `serve` runs it (`nats.authCallout: true`): the responder on the wire,
 * the decision (callout-decision.ts) fed by the HTTP path's own token check and the store's
 * lease, user JWTs signed by the authority, the publishers' user keys recorded against their
 * lease so ending it revokes them, and refusals counted by reason.
 */
import { Counter, type Registry as PromRegistry } from 'prom-client';
import type { NatsConfig } from '../config/types.js';
import { Forbidden, InvalidToken, LeaseGone, NotFound, RevocationsFull, SnowgateError } from '../errors.js';
import type { ReadinessCheck } from '../http/ports.js';
import type { Lease, Principal } from '../registry/types.js';
import type { NatsAuthority } from './authority.js';
import type { CalloutKeys } from './callout-keys.js';
import { CalloutRefusal, decideCallout, parseConnectToken, type CalloutIdentity } from './callout-decision.js';
import { CalloutResponder, type Authorize } from './callout-responder.js';
import type { GrantSlot } from './revocation-budget.js';

export interface CalloutDeps {
  keys: CalloutKeys;
  config: NatsConfig & { authCallout: { readerTtlMs: number } };
  /** Every configured pool's name. */
  pools: string[];
  /** The HTTP path's check of a bearer token: verifier, bound claims, policies. */
  authenticate: (token: string) => Promise<CalloutIdentity>;
  getLease: (id: string) => Promise<Lease | undefined>;
  authority: NatsAuthority;
  /** The revocation budget: a publisher's user may need a revocation when its lease ends. */
  admit?: () => GrantSlot;
  /**
   * Saves a publisher's user key against its lease before the answer goes out, checking in the
   * same unit that the lease is still active (Registry.recordCalloutUser): ending it revokes the key.
   */
  record?: (leaseId: string, principal: Principal, userPublicKey: string, expiresAtMs: number) => Promise<void>;
  metrics?: PromRegistry;
  onError?: (err: Error) => void;
  clock?: () => number;
}

export interface Callout {
  ready: ReadinessCheck;
  close(): Promise<void>;
}

/** A failure of the token check, as a refusal: the message says what failed, never the token. */
function refusalOf(e: unknown): CalloutRefusal {
  if (e instanceof CalloutRefusal) return e;
  if (e instanceof InvalidToken) {
    return new CalloutRefusal(e.reason === 'expired' ? 'expired' : 'invalid_token', e.message);
  }
  if (e instanceof LeaseGone) return new CalloutRefusal('lease_ended', 'the lease has ended');
  if (e instanceof NotFound) return new CalloutRefusal('lease_not_found', 'no such lease');
  if (e instanceof Forbidden) return new CalloutRefusal('forbidden', e.message);
  if (e instanceof RevocationsFull) return new CalloutRefusal('revocations_full', 'too many revocations pending');
  if (e instanceof SnowgateError && e.status === 503) return new CalloutRefusal('unavailable', 'try again shortly');
  if (e instanceof SnowgateError) return new CalloutRefusal('invalid_token', e.message);
  throw e;
}

export function calloutAuthorizer(deps: CalloutDeps): Authorize {
  const now = deps.clock ?? Date.now;
  return async ({ token, userNkey }) => {
    try {
      const parsed = parseConnectToken(token);
      const identity = await deps.authenticate(parsed.token);
      const lease = parsed.lease !== undefined ? await deps.getLease(parsed.lease) : undefined;
      const grant = decideCallout({
        identity,
        ...(lease ? { lease } : {}),
        ...(parsed.lease !== undefined ? { leaseId: parsed.lease } : {}),
        nowMs: now(),
        readerTtlMs: deps.config.authCallout.readerTtlMs,
        pools: deps.pools,
        permissions: deps.config.permissions,
      });
      const slot = grant.kind === 'publisher' ? deps.admit?.() : undefined;
      try {
        if (grant.leaseId !== undefined && deps.record) {
          await deps.record(grant.leaseId, identity.principal, userNkey, grant.expiresAtMs);
        }
        const { jwt } = deps.authority.issue({
          userPublicKey: userNkey,
          name: grant.name,
          expiresAtMs: grant.expiresAtMs,
          pub: grant.pub,
          sub: grant.sub,
          tags: grant.tags,
        });
        slot?.granted();
        return { jwt, kind: grant.kind };
      } finally {
        slot?.abandoned(); // a no-op once granted
      }
    } catch (e) {
      throw refusalOf(e);
    }
  };
}

export async function startCallout(deps: CalloutDeps): Promise<Callout> {
  const counter = deps.metrics
    ? new Counter({
        name: 'snowgate_nats_callout_total',
        help: 'Auth callout answers: granted (reader, publisher) or refused, by reason',
        labelNames: ['outcome'] as const,
        registers: [deps.metrics],
      })
    : undefined;
  const responder = new CalloutResponder({
    keys: deps.keys,
    servers: deps.config.servers,
    authorize: calloutAuthorizer(deps),
    onAnswer: (outcome) => counter?.inc({ outcome }),
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
  await responder.start();
  return {
    ready: {
      name: 'nats-callout',
      check: async () => {
        if (!responder.ready()) throw new Error('the auth callout is not subscribed to the NATS servers');
      },
    },
    close: () => responder.close(),
  };
}
