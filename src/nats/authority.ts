/**
 * The registry's NATS authority: signs lease credentials with the active account signing key,
 * revokes users, rotates signing keys, and keeps nats-server's copy of the account in step.
 *
 * State (keys, revocations) lives behind NatsStateStore with compare-and-set, so replicas
 * agree (state-keeper.ts); each change is saved first, then pushed in order (publisher.ts).
 *
 * Key retirement is the subtle part: a retiring key stays in the account until every JWT it
 * signed has expired. This process knows its own signatures exactly (lastExpiresAt, merged
 * into the state on every save); it cannot know about signatures another replica made before
 * it noticed a rotation, nor ones it made itself before a crash. Hence: a JWT never lives
 * longer than `maxJwtTtlMs` (issue() refuses), a rotation keeps the old key at least
 * `syncGraceMs` (replicas notice within a tick), replicas extend `retireAt` when they save a
 * later expiry, and a (re)started process assumes every key may have signed up to
 * now + maxJwtTtlMs.
 */
import { systemClock, type Clock } from '../clock.js';
import { buildAccountJwt, pruneRevocations } from './account.js';
import type { NatsKeys } from './keys.js';
import { decodePublicKey, generateNkey } from './nkey.js';
import { AccountPublisher, type PublisherStatus } from './publisher.js';
import { createSigner, type NativeSigner } from './signer.js';
import { activeKey, StateKeeper } from './state-keeper.js';
import type { NatsState, NatsStateStore, SigningKeyState } from './state.js';
import { formatCreds, issueUserJwt, newUserCreds } from './user-jwt.js';

export interface NatsAuthorityOptions {
  keys: NatsKeys;
  store: NatsStateStore;
  servers: string[];
  /** Rotate the active signing key once it is this old (tick()); 0 never. */
  signingKeyRotationMs: number;
  /** Longest a user JWT may live: the longest lease plus the clock skew allowed. */
  maxJwtTtlMs: number;
  /** How late another replica may notice a rotation (a few tick intervals). */
  syncGraceMs?: number;
  /** How long revoke() and rotate() wait for the servers to accept the account update. */
  pushTimeoutMs?: number;
  /** Period of the built-in tick() timer; 0: the caller ticks. */
  tickIntervalMs?: number;
  clock?: Clock;
  /** Publisher tuning, for tests. */
  requestTimeoutMs?: number;
  retryDelayMs?: number;
  onError?: (err: Error) => void;
  /** Called after tick() rotated the signing key on schedule (for the audit log). */
  onRotated?: (keys: Keys) => void;
}

export interface IssueRequest {
  /** The client's own public nkey; without it a key pair is made and its seed returned. */
  userPublicKey?: string;
  name: string;
  expiresAtMs: number;
  pub: string[];
  sub: string[];
  tags: string[];
}

export interface IssuedCredentials {
  jwt: string;
  publicKey: string;
  /** The JWT's `exp`, in ms: the lease's end rounded down to the second. */
  expiresAtMs: number;
  seed?: string;
  creds?: string;
}

export interface Keys {
  keys: { publicKey: string; state: 'active' | 'retiring'; createdAt: string; retireAt?: string }[];
}

export class NatsAuthority {
  readonly #o: NatsAuthorityOptions & Required<Pick<NatsAuthorityOptions, 'syncGraceMs' | 'pushTimeoutMs' | 'clock'>>;
  readonly #operator: NativeSigner;
  readonly #publisher: AccountPublisher;
  readonly #keeper: StateKeeper;
  #jwtCache: { version: number; jwt: string } | undefined;
  readonly #signers = new Map<string, NativeSigner>();
  /** Latest `exp` (ms) this process signed per key; merged into the state on each save. */
  readonly #lastExpires = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(options: NatsAuthorityOptions) {
    this.#o = { syncGraceMs: 30_000, pushTimeoutMs: 10_000, clock: systemClock, ...options };
    this.#operator = createSigner(options.keys.operator.seed);
    this.#keeper = new StateKeeper({
      store: options.store,
      account: options.keys.account.publicKey,
      clock: this.#o.clock,
      onAdopt: (s) => this.#forgetRetired(s),
      prepare: (draft) => this.#mergeExpiries(draft),
    });
    this.#publisher = new AccountPublisher({
      servers: options.servers,
      systemCreds: options.keys.systemCreds,
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      // After each push and on reconnect: whatever another replica saved since.
      refresh: async () => {
        await this.#keeper.sync();
        return this.#keeper.loaded ? this.#current() : undefined;
      },
    });
  }

  /** Loads the state (or seeds it from the init dir's first signing key) and starts pushing. */
  async start(): Promise<void> {
    await this.#keeper.loadOrSeed(() => {
      const now = this.#o.clock.now();
      return {
        account: this.#o.keys.account.publicKey,
        signingKeys: [{ ...this.#o.keys.signingKey, state: 'active', createdAt: now }],
        revocations: {},
        accountIat: Math.floor(now / 1000),
      };
    });
    const horizon = this.#o.clock.now() + this.#o.maxJwtTtlMs;
    // Signatures made before a restart are forgotten; none outlives the horizon.
    for (const k of this.#keeper.state.signingKeys) this.#noteExpiry(k.publicKey, horizon);
    this.#publisher.start();
    this.#pushInBackground();
    const every = this.#o.tickIntervalMs ?? 10_000;
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.tick().catch((e: Error) => this.#o.onError?.(e));
      }, every);
      this.#timer.unref();
    }
  }

  /** Resolves once the servers hold the account JWT of the current state. */
  async synced(timeoutMs = this.#o.pushTimeoutMs): Promise<void> {
    await this.#publisher.publish(this.#current(), timeoutMs);
  }

  /** Signs user credentials with the active key. Synchronous: safe inside a store transaction. */
  issue(req: IssueRequest): IssuedCredentials {
    const s = this.#keeper.state;
    const now = this.#o.clock.now();
    if (req.expiresAtMs > now + this.#o.maxJwtTtlMs) {
      throw new RangeError(`a NATS user JWT may live at most ${this.#o.maxJwtTtlMs} ms`);
    }
    const active = activeKey(s);
    const user = req.userPublicKey ? { publicKey: req.userPublicKey, seed: undefined } : newUserCreds();
    const revokedAt = s.revocations[user.publicKey];
    const jwt = issueUserJwt({
      account: this.#o.keys.account.publicKey,
      signingKey: this.#signer(active),
      userPublicKey: user.publicKey,
      name: req.name,
      expiresAtMs: req.expiresAtMs,
      pub: req.pub,
      sub: req.sub,
      tags: req.tags,
      nowMs: now,
      // A key revoked this second (a superseded lease) would revoke its new JWT too.
      ...(revokedAt !== undefined ? { minIatSeconds: revokedAt + 1 } : {}),
    });
    const expiresAtMs = Math.floor(req.expiresAtMs / 1000) * 1000;
    this.#noteExpiry(active.publicKey, expiresAtMs);
    const out: IssuedCredentials = { jwt, publicKey: user.publicKey, expiresAtMs };
    if (user.seed !== undefined) {
      out.seed = user.seed;
      out.creds = formatCreds(jwt, user.seed);
    }
    return out;
  }

  /**
   * Revokes every JWT issued so far to these users; resolves once the servers accepted it.
   * `onlyMissing` leaves users already revoked alone (catching up after a restart must not move a
   * revocation past the JWT of a later lease that reuses the key).
   */
  async revoke(userPublicKeys: string[], opts: { onlyMissing?: boolean } = {}): Promise<void> {
    if (userPublicKeys.length === 0) return;
    for (const k of userPublicKeys) decodePublicKey(k, 'user');
    await this.#keeper.mutate((s, now) => {
      const second = Math.floor(now / 1000);
      for (const k of userPublicKeys) {
        if (opts.onlyMissing && s.revocations[k] !== undefined) continue;
        s.revocations[k] = Math.max(s.revocations[k] ?? 0, second);
      }
    });
    await this.synced();
  }

  /** Makes a new signing key active; the old one retires once its JWTs have expired. */
  async rotate(): Promise<Keys> {
    await this.#keeper.mutate((s, now) => this.#rotateIn(s, now));
    await this.synced();
    return this.keys();
  }

  keys(): Keys {
    return {
      keys: this.#keeper.state.signingKeys.map((k) => ({
        publicKey: k.publicKey,
        state: k.state,
        createdAt: new Date(k.createdAt).toISOString(),
        ...(k.retireAt !== undefined ? { retireAt: new Date(k.retireAt).toISOString() } : {}),
      })),
    };
  }

  /**
   * Housekeeping, on a timer: learns other replicas' changes, drops retired keys, prunes
   * revocations, rotates an old active key, saves expiries, and pushes what changed.
   */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      let rotated = false;
      await this.#keeper.mutate((s, now) => {
        s.signingKeys = s.signingKeys.filter((k) => k.state === 'active' || (k.retireAt ?? 0) > now);
        s.revocations = pruneRevocations(s.revocations, now, this.#o.maxJwtTtlMs);
        const rotation = this.#o.signingKeyRotationMs;
        // Reset on every attempt: a compare-and-set conflict re-applies this to fresher state.
        rotated = rotation > 0 && activeKey(s).createdAt + rotation <= now;
        if (rotated) this.#rotateIn(s, now);
      });
      if (rotated) this.#o.onRotated?.(this.keys());
      // Also what another replica saved: the publisher skips what the servers already hold.
      this.#pushInBackground();
    } finally {
      this.#ticking = false;
    }
  }

  /** For /readyz: the state is loaded and the servers are reachable and up to date. */
  ready(): boolean {
    return this.#keeper.loaded && this.#publisher.ready();
  }

  status(): { version: number; publisher: PublisherStatus } {
    return { version: this.#keeper.version, publisher: this.#publisher.status() };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#publisher.close();
  }

  #rotateIn(s: NatsState, now: number): void {
    const old = activeKey(s);
    old.state = 'retiring';
    old.retireAt = Math.max(old.lastExpiresAt ?? 0, now + this.#o.syncGraceMs);
    const fresh = generateNkey('account');
    s.signingKeys.push({ publicKey: fresh.publicKey, seed: fresh.seed, state: 'active', createdAt: now });
  }

  /** Queues the current JWT without waiting; the publisher reports its own failures. */
  #pushInBackground(): void {
    this.#publisher.publish(this.#current()).catch(() => undefined);
  }

  #mergeExpiries(s: NatsState): void {
    for (const k of s.signingKeys) {
      const mine = this.#lastExpires.get(k.publicKey) ?? 0;
      if (mine > (k.lastExpiresAt ?? 0)) k.lastExpiresAt = mine;
      if (k.state === 'retiring' && (k.retireAt ?? 0) < (k.lastExpiresAt ?? 0)) k.retireAt = k.lastExpiresAt;
    }
  }

  /** Retired keys never sign again: forget them. */
  #forgetRetired(s: NatsState): void {
    for (const map of [this.#signers, this.#lastExpires]) {
      for (const pk of map.keys()) if (!s.signingKeys.some((k) => k.publicKey === pk)) map.delete(pk);
    }
  }

  /** The account JWT of the current state: the same bytes on every replica for a version. */
  #current(): { jwt: string; seq: number } {
    const version = this.#keeper.version;
    if (this.#jwtCache?.version !== version) {
      const s = this.#keeper.state;
      const jwt = buildAccountJwt({
        operator: this.#operator,
        accountPublicKey: this.#o.keys.account.publicKey,
        name: this.#o.keys.account.name,
        signingKeys: s.signingKeys.map((k) => k.publicKey),
        revocations: s.revocations,
        iatSeconds: s.accountIat,
      });
      this.#jwtCache = { version, jwt };
    }
    return { jwt: this.#jwtCache.jwt, seq: version };
  }

  #signer(k: SigningKeyState): NativeSigner {
    let signer = this.#signers.get(k.publicKey);
    if (!signer) {
      signer = createSigner(k.seed);
      this.#signers.set(k.publicKey, signer);
    }
    return signer;
  }

  #noteExpiry(publicKey: string, expiresAtMs: number): void {
    if (expiresAtMs > (this.#lastExpires.get(publicKey) ?? 0)) this.#lastExpires.set(publicKey, expiresAtMs);
  }
}
