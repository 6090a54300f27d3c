/**
 * Revocations: ending a lease adds its user key to the account JWT's revocations, saved (coalesced,
 * revocation-queue.ts) and pushed; each one is dropped the moment no JWT it covers can still be
 * valid, and the budget (revocation-budget.ts) keeps them all within the servers' `max_payload`.
 *
 * A revocation is `confirmed` once the servers accepted an account JWT holding it; until then it is
 * `pending` (the servers are down or slow). Either way it is saved, and pushed as soon as they are back.
 */
import type { Clock } from '../clock.js';
import { pruneRevocations } from './account.js';
import { decodePublicKey } from './nkey.js';
import type { AccountPublisher, ServerFacts, VersionedJwt } from './publisher.js';
import {
  DEFAULT_MAX_PAYLOAD,
  revocationCapacity,
  RevocationExpiries,
  type RevocationRoom,
} from './revocation-budget.js';
import { RevocationQueue } from './revocation-queue.js';
import type { StateKeeper } from './state-keeper.js';
import type { NatsState } from './state.js';

export type RevocationStatus = 'revoked' | 'pending';

export interface RevokerOptions {
  keeper: StateKeeper;
  publisher: AccountPublisher;
  clock: Clock;
  /** Longest a user JWT lives: a revocation made at second r is needed until r + 2 s + this. */
  jwtTtlMs: number;
  /** The account JWT of the current state. */
  current: () => Promise<VersionedJwt>;
  /** The size of the account JWT last built. */
  currentBytes: () => number;
  /** The size of the account JWT these signing keys give with no revocations. */
  baseBytes: (signingKeys: readonly string[]) => number;
  onError?: (err: Error) => void;
}

/** How long an update waits for the servers before the queue moves on (it stays queued there). */
const PUSH_PACE_MS = 2000;

export class Revoker {
  readonly #o: RevokerOptions;
  readonly #queue: RevocationQueue;
  readonly #expiries = new RevocationExpiries();
  /** Keys this process saved, and the state version that first held them, until the servers confirm. */
  readonly #unconfirmed = new Map<string, number>();
  /** The accepted seq #unconfirmed was last swept at. */
  #sweptAt = 0;
  #base: { keys: string; bytes: number } | undefined;
  /** What the connected server said; the state's copy serves until then. */
  #maxPayload: number | undefined;

  constructor(options: RevokerOptions) {
    this.#o = options;
    this.#queue = new RevocationQueue({
      // At most about one update a second: each moves the account JWT's `iat` (whole seconds, strictly
      // increasing) by at least one, so a faster pace would run it ahead of the clock.
      minGapMs: 1000,
      flush: (batch) => this.#flush(batch),
      // Pace updates by the servers too: each rebuilds its copy of the account from the whole JWT.
      pace: async () => {
        if (this.#o.publisher.connected) {
          await this.#push(PUSH_PACE_MS);
        }
      },
      clock: options.clock,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** Runs on every state adopted. */
  adopt(s: NatsState): void {
    const horizon = this.#horizon(s, this.#o.clock.now());
    this.#expiries.reset(s.revocations, (r) => (r + 2) * 1000 + horizon);
  }

  /**
   * Saves this process's JWT lifetime. A lower one than before (a shorter nats.credentialTtl) takes
   * over only once the JWTs issued under the former one have expired: until then revocations keep
   * the former horizon, so no revoked JWT becomes valid again.
   */
  async start(): Promise<void> {
    const mine = this.#o.jwtTtlMs;
    if (this.#o.keeper.state.jwtTtl?.ms === mine) return;
    await this.#o.keeper.mutate((s, now) => {
      const t = s.jwtTtl;
      if (!t || mine > t.ms) {
        s.jwtTtl = { ms: mine };
      } else if (mine < t.ms) {
        const former = (t.formerUntil ?? 0) > now ? Math.max(t.ms, t.formerMs ?? 0) : t.ms;
        s.jwtTtl = { ms: mine, formerMs: former, formerUntil: Math.max(now + t.ms, t.formerUntil ?? 0) };
      }
    });
  }

  /** How long a revocation lasts (ms after its second, less 2 s): the longest a revoked JWT may be valid. */
  horizonMs(): number {
    return this.#horizon(this.#o.keeper.state, this.#o.clock.now());
  }

  /** Prunes revocations no JWT can need any more (of a draft: in place). */
  prune(s: NatsState, now: number): void {
    pruneRevocations(s.revocations, now, this.#horizon(s, now));
  }

  /**
   * Revokes every JWT issued so far to these users. Queued at once (a caller that does not await
   * still has them queued), saved with the other ends of the same short window, then pushed; waits
   * up to `waitMs` for the servers to confirm. `onlyMissing` leaves users already revoked alone:
   * catching up after a restart then changes nothing when every revocation was saved.
   */
  async revoke(
    keys: readonly string[],
    opts: { onlyMissing?: boolean; waitMs?: number } = {},
  ): Promise<RevocationStatus> {
    if (keys.length === 0) return 'revoked';
    // Before the first await: the keys are queued before this returns, even for a caller that does not await.
    for (const k of keys) decodePublicKey(k, 'user');
    const waitMs = opts.waitMs ?? 0;
    const version = await this.#queue.add(keys, {
      ...(opts.onlyMissing ? { onlyMissing: true } : {}),
      urgent: waitMs > 0,
    });
    if (this.#confirmed(version)) return 'revoked';
    if (waitMs <= 0 || !this.#o.publisher.connected) return 'pending';
    await this.#push(waitMs);
    return this.#confirmed(version) ? 'revoked' : 'pending';
  }

  /** Saves what is queued now, and waits up to `waitMs` for the servers to hold it. */
  async settle(waitMs: number): Promise<RevocationStatus> {
    const version = await this.#queue.add([], { urgent: true });
    if (!this.#confirmed(version) && this.#o.publisher.connected) {
      await this.#push(waitMs);
    }
    return this.#confirmed(version) ? 'revoked' : 'pending';
  }

  /**
   * Whether the servers confirmed the revocation of all these keys; undefined for keys that were
   * never revoked (a lease that expired: its JWT expires by itself).
   */
  status(keys: readonly string[]): RevocationStatus | undefined {
    let status: RevocationStatus | undefined;
    for (const k of keys) {
      const s = this.#statusOf(k);
      if (s === 'pending') return 'pending';
      status ??= s;
    }
    return status;
  }

  /** The budget's view: revocations still needed plus those queued, and how many fit. */
  room(): RevocationRoom {
    const now = this.#o.clock.now();
    const s = this.#o.keeper.state;
    const freesAtMs = this.#expiries.next(now);
    return {
      used: this.#expiries.live(now) + this.#queue.size,
      capacity: revocationCapacity(this.maxPayload(), this.#baseBytes(s)),
      ...(freesAtMs !== undefined ? { freesAtMs } : {}),
    };
  }

  maxPayload(): number {
    return this.#maxPayload ?? this.#o.keeper.state.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** A server (re)connected: budget from its `max_payload`, and save it for a start while NATS is down. */
  serverInfo(info: ServerFacts): void {
    if (!(info.maxPayload > 0)) return;
    this.#maxPayload = info.maxPayload;
    if (this.#o.keeper.loaded && this.#o.keeper.state.maxPayload === info.maxPayload) return;
    this.#o.keeper
      .mutate((s) => {
        s.maxPayload = info.maxPayload;
      })
      .catch((e: Error) => this.#o.onError?.(e));
  }

  /** For metrics: what the last update took (it grows with the revocations carried), and sizes. */
  facts(): { lastUpdateMs: number; maxPayload: number; accountJwtBytes: number } {
    return {
      lastUpdateMs: this.#queue.lastCostMs,
      maxPayload: this.maxPayload(),
      accountJwtBytes: this.#o.currentBytes(),
    };
  }

  /** Saves what is still queued (a shutdown right after a release), briefly, then stops. */
  async close(): Promise<void> {
    if (this.#queue.size > 0) await this.settle(1000).catch(() => undefined);
    this.#queue.close();
  }

  async #flush(batch: ReadonlyMap<string, boolean>): Promise<number> {
    const before = this.#o.keeper.version;
    await this.#o.keeper.mutate((s, now) => {
      const second = Math.floor(now / 1000);
      for (const [k, onlyMissing] of batch) {
        if (onlyMissing && s.revocations.has(k)) continue;
        s.revocations.set(k, Math.max(s.revocations.get(k) ?? 0, second));
      }
      this.prune(s, now);
    });
    const version = this.#o.keeper.version;
    if (version !== before)
      for (const k of batch.keys()) if (!this.#unconfirmed.has(k)) this.#unconfirmed.set(k, version);
    return version;
  }

  /** Pushes the current account JWT, waiting up to `waitMs`; the publisher reports its own failures. */
  async #push(waitMs: number): Promise<void> {
    await this.#o
      .current()
      .then((current) => this.#o.publisher.publish(current, waitMs))
      .catch(() => undefined);
  }

  #statusOf(key: string): RevocationStatus | undefined {
    if (this.#queue.has(key)) return 'pending';
    const version = this.#unconfirmed.get(key);
    if (version !== undefined) return this.#confirmed(version) ? 'revoked' : 'pending';
    if (!this.#o.keeper.state.revocations.has(key)) return undefined;
    // Saved by another replica, or confirmed long ago: confirmed when the servers hold what we know.
    return this.#confirmed(this.#o.keeper.version) ? 'revoked' : 'pending';
  }

  #confirmed(version: number): boolean {
    const accepted = this.#o.publisher.acceptedSeq;
    // Once per accepted update, not per call: a release costs the same however many wait.
    if (accepted > this.#sweptAt) {
      this.#sweptAt = accepted;
      for (const [k, v] of this.#unconfirmed) if (v <= accepted) this.#unconfirmed.delete(k);
    }
    return accepted >= version;
  }

  #horizon(s: NatsState, now: number): number {
    const t = s.jwtTtl;
    const former = t && (t.formerUntil ?? 0) > now ? (t.formerMs ?? 0) : 0;
    return Math.max(this.#o.jwtTtlMs, t?.ms ?? 0, former);
  }

  #baseBytes(s: NatsState): number {
    const keys = s.signingKeys.map((k) => k.publicKey);
    const id = keys.join(',');
    if (this.#base?.keys !== id) this.#base = { keys: id, bytes: this.#o.baseBytes(keys) };
    return this.#base.bytes;
  }
}
