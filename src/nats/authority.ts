/**
 * The registry's NATS authority: signs lease credentials with the active account signing key,
 * revokes users, rotates signing keys, and keeps nats-server's copy of the account in step.
 *
 * State (keys, revocations) lives behind NatsStateStore with compare-and-set, so replicas
 * agree (state-keeper.ts); each change is saved first, then pushed in order (publisher.ts).
 *
 * A rotation has two steps, as with nsc: the new key is added `pending` (listed in the account
 * JWT, signing nothing), and only once the servers accepted an account JWT listing it does it
 * become `active` (the old one `retiring`). Signing with it any earlier would hand out credentials
 * the servers refuse (Authorization Violation) for as long as the push takes: NATS down, another
 * replica slow to push, a refused push. No replica ever signs with a pending key.
 *
 * Key retirement is the subtle part: a retiring key stays in the account until every JWT it
 * signed has expired. This process knows its own signatures exactly (lastExpiresAt, merged
 * into the state on every save); it cannot know about signatures another replica made before
 * it noticed a promotion, nor ones it made itself before a crash. Hence: a JWT never lives
 * longer than `maxJwtTtlMs` (issue() caps `exp`), a promotion keeps the old key at least
 * `syncGraceMs` (replicas notice within a tick), replicas extend `retireAt` when they save a
 * later expiry, and a (re)started process assumes every key may have signed up to
 * now + maxJwtTtlMs.
 */
import type { Account } from '@nats-io/jwt';
import { systemClock, type Clock } from '../clock.js';
import { Unavailable } from '../errors.js';
import { AccountJwtBuilder } from './account-jwt-builder.js';
import { readClaims } from './jwt-encode.js';
import type { NatsKeys } from './keys.js';
import { AccountPublisher, PushRejected, PushTimeout, type PublisherStatus, type VersionedJwt } from './publisher.js';
import { Revoker, type RevocationStatus } from './revoker.js';
import {
  addPendingKey,
  keysView,
  promotePendingKey,
  signingKeyAges,
  type Keys,
  type Rotation,
  type SigningKeyAges,
} from './signing-keys.js';
import type { SeedSealer } from './seed-seal.js';
import { SigningKeyBook } from './signing-key-book.js';
import { activeKey, pendingKey, StateKeeper } from './state-keeper.js';
import type { NatsState, NatsStateStore } from './state.js';
import { issueUserJwt, type IssueUserJwtOptions } from './user-jwt.js';

export type { Keys, Rotation, RevocationStatus, SigningKeyAges };

export interface NatsAuthorityOptions {
  keys: NatsKeys;
  store: NatsStateStore;
  servers: string[];
  /** Rotate the active signing key once it is this old (tick()); 0 never. */
  signingKeyRotationMs: number;
  /** Longest a user JWT may live: the longest lease plus the clock skew allowed. */
  maxJwtTtlMs: number;
  /**
   * User JWTs end this long after issue at the latest, before their lease (`nats.credentialTtl`):
   * renewed with it, so a revocation need only outlive this. Undefined: the lease's end.
   */
  credentialTtlMs?: number;
  /** How late another replica may notice a rotation (a few tick intervals). */
  syncGraceMs?: number;
  /** How long revoke() and rotate() wait for the servers to accept the account update. */
  pushTimeoutMs?: number;
  /** Seals the signing-key seeds the store keeps (seed-seal.ts); without it they are kept as they are (tests). */
  sealer?: SeedSealer;
  /** Period of the built-in tick() timer; 0: the caller ticks. */
  tickIntervalMs?: number;
  clock?: Clock;
  /** States stored in at least this many characters build their account JWT on a thread; for tests. */
  accountJwtThreadFrom?: number;
  /** Publisher tuning, for tests. */
  requestTimeoutMs?: number;
  retryDelayMs?: number;
  onError?: (err: Error) => void;
  /**
   * Called once tick() saved a rotation due by the schedule (for the audit log). The new key is
   * pending then: it signs once the servers accepted it.
   */
  onRotated?: (rotation: Rotation) => void;
}

/** A user JWT for a lease: what issueUserJwt takes, less what the authority supplies itself. */
export type IssueRequest = Omit<IssueUserJwtOptions, 'account' | 'signingKey' | 'nowMs'>;

/** A signed user JWT (the HTTP layer's IssuedCredentials adds the seed and creds). */
export interface SignedUserJwt {
  jwt: string;
  /** The JWT's `exp`, in ms: the lease's end rounded down to the second, or sooner (see issue()). */
  expiresAtMs: number;
}

/**
 * The NATS servers did not accept an account update in time (HTTP 503): the change is saved and
 * is still pushed, and takes effect, once they are back.
 */
export class NatsUnavailable extends Unavailable {}

export class NatsAuthority {
  readonly #o: NatsAuthorityOptions & Required<Pick<NatsAuthorityOptions, 'syncGraceMs' | 'pushTimeoutMs' | 'clock'>>;
  readonly #builder: AccountJwtBuilder;
  readonly #publisher: AccountPublisher;
  readonly #keeper: StateKeeper;
  /** Revocations: their status, the budget's room, what updates cost (revoker.ts). */
  readonly revocations: Revoker;
  readonly #book = new SigningKeyBook();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #closed = false;
  /** The background wait for the servers to accept a pending key, then its promotion. */
  #promoting: Promise<unknown> | undefined;
  /** The signing keys listed in the account JWT the servers last accepted from us. */
  #known: { jwt: string; keys: Set<string> } | undefined;

  constructor(options: NatsAuthorityOptions) {
    this.#o = { syncGraceMs: 30_000, pushTimeoutMs: 10_000, clock: systemClock, ...options };
    this.#builder = new AccountJwtBuilder({
      operatorSeed: options.keys.operator.seed,
      accountPublicKey: options.keys.account.publicKey,
      name: options.keys.account.name,
      ...(options.accountJwtThreadFrom !== undefined ? { threadFrom: options.accountJwtThreadFrom } : {}),
    });
    this.#keeper = new StateKeeper({
      store: options.store,
      account: options.keys.account.publicKey,
      clock: this.#o.clock,
      onAdopt: (s) => {
        this.#book.forgetRetired(s);
        this.revocations.adopt(s);
      },
      prepare: (draft) => this.#book.merge(draft),
      ...(options.sealer ? { sealer: options.sealer } : {}),
    });
    this.#publisher = new AccountPublisher({
      servers: options.servers,
      systemCreds: options.keys.systemCreds,
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      onServerInfo: (info) => this.revocations.serverInfo(info),
      // After each push and on reconnect: whatever another replica saved since.
      refresh: async () => {
        await this.#keeper.sync();
        return this.#keeper.loaded ? this.#current() : undefined;
      },
    });
    this.revocations = new Revoker({
      keeper: this.#keeper,
      publisher: this.#publisher,
      clock: this.#o.clock,
      jwtTtlMs: this.#jwtTtlMs(),
      current: () => this.#current(),
      currentBytes: () => this.#builder.lastBytes,
      baseBytes: (signingKeys) => this.#builder.inline(signingKeys, new Map(), 0).length,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** Loads the state (or seeds it from the init dir's first signing key) and starts pushing. */
  async start(): Promise<void> {
    await this.#keeper.loadOrSeed(() => {
      const now = this.#o.clock.now();
      return {
        account: this.#o.keys.account.publicKey,
        signingKeys: [{ ...this.#o.keys.signingKey, state: 'active', createdAt: now }],
        revocations: new Map(),
        accountIat: Math.floor(now / 1000),
      };
    });
    // Seeds saved in the clear before they were sealed: sealed now, once.
    await this.#keeper.sealAtRest();
    await this.revocations.start();
    const horizon = this.#o.clock.now() + this.#o.maxJwtTtlMs;
    // Signatures made before a restart are forgotten; none outlives the horizon. (Pending keys never signed.)
    for (const k of this.#keeper.state.signingKeys) {
      if (k.state !== 'pending') this.#book.noteExpiry(k.publicKey, horizon);
    }
    this.#publisher.start();
    this.#pushInBackground();
    // A rotation saved before a restart, or by a replica that stopped: finish it.
    this.#promoteWhenKnown();
    const every = this.#o.tickIntervalMs ?? 10_000;
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.tick().catch((e: Error) => this.#o.onError?.(e));
      }, every);
      this.#timer.unref();
    }
  }

  /**
   * Resolves once the servers hold the account JWT of the current state; NatsUnavailable when
   * they did not accept it within `timeoutMs` (it stays queued).
   */
  async synced(timeoutMs = this.#o.pushTimeoutMs): Promise<void> {
    try {
      await this.#publisher.publish(await this.#current(), timeoutMs);
    } catch (e) {
      if (e instanceof PushTimeout) {
        throw new NatsUnavailable(`${e.message}; it is saved and will be pushed once they are back`, { cause: e });
      }
      throw e;
    }
  }

  /**
   * Signs a user JWT with the active key. Synchronous: safe inside a store transaction.
   *
   * `exp` is the lease's end, capped at now + maxJwtTtlMs by this process's clock: the lease's end
   * comes from the store's clock (PostgreSQL's, for every replica), which may run ahead of ours,
   * and key retirement counts on no JWT outliving that horizon. A capped JWT ends a little before
   * its lease; the client renews before then anyway.
   */
  issue(req: IssueRequest): SignedUserJwt {
    const now = this.#o.clock.now();
    const active = activeKey(this.#keeper.state);
    const until = Math.min(req.expiresAtMs, now + this.#jwtTtlMs());
    const jwt = issueUserJwt({
      account: this.#o.keys.account.publicKey,
      signingKey: this.#book.signer(active),
      userPublicKey: req.userPublicKey,
      name: req.name,
      expiresAtMs: until,
      pub: req.pub,
      sub: req.sub,
      tags: req.tags,
      nowMs: now,
    });
    const expiresAtMs = Math.floor(until / 1000) * 1000;
    this.#book.noteExpiry(active.publicKey, expiresAtMs);
    return { jwt, expiresAtMs };
  }

  /**
   * Revokes every JWT issued so far to these users (revoker.ts): queued at once, saved and pushed
   * with the other ends of a short window; waits up to `waitMs` for the servers to confirm.
   */
  revoke(
    userPublicKeys: readonly string[],
    opts: { onlyMissing?: boolean; waitMs?: number } = {},
  ): Promise<RevocationStatus> {
    return this.revocations.revoke(userPublicKeys, opts);
  }

  /**
   * Adds a new signing key (pending; a rotation already pending is taken over instead), pushes
   * it, and once the servers accepted it makes it the active key; the old one retires once its
   * JWTs have expired. `onSaved` runs as soon as the rotation is saved, before the wait (for the
   * audit log: the rotation happens even if the wait fails). Rejects with NatsUnavailable when the
   * servers did not accept it within `pushTimeoutMs`: the old key signs on, and the new one is
   * promoted in the background once they do.
   */
  async rotate(opts: { onSaved?: (rotation: Rotation) => Promise<void> | void } = {}): Promise<Keys> {
    const saved: { rotation?: Rotation } = {};
    await this.#keeper.mutate((s, now) => {
      saved.rotation = addPendingKey(s, now);
    });
    const rotation = saved.rotation;
    if (!rotation) throw new Error('NATS key rotation: nothing saved');
    this.#promoteWhenKnown();
    await opts.onSaved?.(rotation);
    await this.synced();
    await this.#promote();
    const key = this.#keeper.state.signingKeys.find((k) => k.publicKey === rotation.publicKey);
    if (key?.state === 'pending') throw new Error(`NATS signing key ${key.publicKey} was pushed but not promoted`);
    return this.keys();
  }

  /** The active and retiring keys; a pending key (not signing yet) is left out, as CONTRACT §4 shows none. */
  keys(): Keys {
    return keysView(this.#keeper.state);
  }

  /**
   * Housekeeping, on a timer: learns other replicas' changes, drops retired keys, prunes
   * revocations, promotes a pending key the servers hold, starts a rotation when the active key
   * is old (promoted in the background once pushed), saves expiries, and pushes what changed.
   */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const saved: { rotation?: Rotation } = {};
      await this.#keeper.mutate((s, now) => {
        s.signingKeys = s.signingKeys.filter((k) => k.state !== 'retiring' || (k.retireAt ?? 0) > now);
        this.revocations.prune(s, now);
        // Another replica's rotation, or one from before a restart, that the servers now hold.
        this.#promoteIn(s, now);
        const every = this.#o.signingKeyRotationMs;
        const active = activeKey(s);
        const due = every > 0 && !pendingKey(s) && (active.activatedAt ?? active.createdAt) + every <= now;
        // Reset on every attempt: a compare-and-set conflict re-applies this to fresher state.
        saved.rotation = due ? addPendingKey(s, now) : undefined;
      });
      if (saved.rotation) this.#o.onRotated?.(saved.rotation);
      // Also what another replica saved: the publisher skips what the servers already hold.
      this.#pushInBackground();
      this.#promoteWhenKnown();
    } finally {
      this.#ticking = false;
    }
  }

  /**
   * The signing keys' ages by this process's clock, and the rotation period they are held to
   * (0: never rotated by schedule): what an operator watches to see a rotation is overdue.
   */
  keyAges(): SigningKeyAges & { rotationMs: number } {
    return { ...signingKeyAges(this.#keeper.state, this.#o.clock.now()), rotationMs: this.#o.signingKeyRotationMs };
  }

  /** For /readyz: the state is loaded and the servers are reachable and up to date. */
  ready(): boolean {
    return this.#keeper.loaded && this.#publisher.ready();
  }

  status(): { version: number; publisher: PublisherStatus } {
    return { version: this.#keeper.version, publisher: this.#publisher.status() };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.revocations.close();
    await this.#publisher.close();
    await this.#promoting;
    await this.#builder.close();
  }

  /** In the draft: the pending key becomes active, if the servers accepted an account JWT listing it. */
  #promoteIn(s: NatsState, now: number): void {
    const next = pendingKey(s);
    if (next && this.#serversKnow(next.publicKey)) promotePendingKey(s, now, this.#o.syncGraceMs);
  }

  async #promote(): Promise<void> {
    await this.#keeper.mutate((s, now) => this.#promoteIn(s, now));
  }

  /**
   * In the background: once the servers accepted the current account JWT (which lists the pending
   * key), promotes it. One wait at a time; tick() starts another if a key is still pending.
   */
  #promoteWhenKnown(): void {
    if (this.#promoting || this.#closed || !pendingKey(this.#keeper.state)) return;
    this.#promoting = this.#current()
      .then((current) => this.#publisher.publish(current))
      .then(() => (this.#closed ? undefined : this.#promote()))
      .catch((e: Error) => {
        // The publisher reports its own failures (refused pushes included); a close ends the wait.
        if (!this.#closed && !(e instanceof PushRejected)) this.#o.onError?.(e);
      })
      .finally(() => {
        this.#promoting = undefined;
      });
  }

  /**
   * Whether an account JWT listing this signing key was accepted by the servers. Every later
   * version lists it too until it retires, so once true it stays true.
   */
  #serversKnow(publicKey: string): boolean {
    const jwt = this.#publisher.acceptedJwt();
    if (jwt === undefined) return false;
    if (this.#known?.jwt !== jwt) {
      const listed = readClaims<Account>(jwt).nats.signing_keys ?? [];
      this.#known = { jwt, keys: new Set(listed.map((k) => (typeof k === 'string' ? k : k.key))) };
    }
    return this.#known.keys.has(publicKey);
  }

  /** Queues the current JWT without waiting; the publisher reports its own failures. */
  #pushInBackground(): void {
    this.#current()
      .then((current) => this.#publisher.publish(current))
      .catch(() => undefined);
  }

  /**
   * The account JWT of the current state: the same bytes on every replica for a version. Built
   * once per version, off the event loop when it is large (account-jwt-builder.ts).
   */
  async #current(): Promise<VersionedJwt> {
    const version = this.#keeper.version;
    return { jwt: await this.#builder.forVersion(version, this.#keeper.state, this.#keeper.data), seq: version };
  }

  /** The longest a JWT this process signs lives: the lease's, or nats.credentialTtl when shorter. */
  #jwtTtlMs(): number {
    return Math.min(this.#o.maxJwtTtlMs, this.#o.credentialTtlMs ?? Infinity);
  }
}
