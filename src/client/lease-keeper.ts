/**
 * The one lease keeper: acquire, renew at renewAfter (jittered), retry with capped backoff, fence
 * at the monotonic deadline when no renewal has landed, acquire anew after the lease is lost,
 * release on stop. NodeLease and `snowgate lease` are both built on it.
 */
import { generateNkey } from '../nats/nkey.js';
import {
  isRetryable,
  LeaseGoneError,
  LeaseSupersededError,
  NotFoundError,
  UnexpectedResponseError,
  type EndReason,
} from './errors.js';
import { call } from './http.js';
import { Backoff, type Runtime } from './runtime.js';
import { resolveToken, type TokenProvider } from './token.js';
import { checkLeaseResponse, leaseIdOf, type LeaseResponse } from './wire.js';

/** What to ask the registry for (CONTRACT §4 `POST /v1/leases`). */
export interface LeaseRequest {
  pool?: string;
  instance?: string;
  node?: number;
}

export interface KeeperOptions {
  registry: string;
  token: TokenProvider;
  request: LeaseRequest;
  /** Make the NATS user key here, so its seed never crosses the network (CONTRACT §5). */
  localUserKey: boolean;
  requestTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  runtime: Runtime;
}

/** A granted lease with its deadlines on this process's monotonic clock. */
export interface Held {
  body: LeaseResponse;
  /** The NATS user seed, kept across renewals (they bring only a fresh JWT). */
  seed: string | undefined;
  /** When to start renewing. */
  renewAt: number;
  /** The self-fencing deadline (DESIGN): past it the lease may be over at the registry. */
  fenceAt: number;
  /** How long the request that brought it took, in ms. */
  roundTripMs: number;
}

export interface Lost {
  leaseId: string;
  /** How the registry ended it, or `unreachable` when no renewal landed before the fence. */
  reason: EndReason | 'unreachable' | 'unknown';
  error: Error;
}

export interface KeeperHooks {
  /** Awaited before a grant or renewal is used; throwing gives the lease back and stops the keeper. */
  onGrant(h: Held, kind: 'acquired' | 'renewed'): Promise<void> | void;
  onLost(l: Lost): void;
  /** The fence passed with no renewal landed: the generator already refuses to mint. */
  onFenced(h: Held): void;
  /** A try failed and will be retried after `waitMs`. */
  onRetry(what: 'renew' | 'acquire', e: Error, waitMs: number): void;
}

/** A failure that waiting cannot fix: the keeper stops on it. */
class Fatal extends Error {}

/** The shortest wait before a renewal, so a renewAfter already past (a paused process) cannot spin. */
const MIN_RENEW_GAP_MS = 100;
/** Renewals start up to this share of the wait early, so a fleet granted at once spreads out. */
const RENEW_JITTER = 0.1;
/** Releasing on stop is best effort: a registry that does not answer must not hold up a shutdown. */
const RELEASE_TIMEOUT_MS = 5_000;

/**
 * Deadlines on the monotonic clock, counted from when the request was sent, against the
 * registry's own `now`: `sent + (expiresAt - now) - maxClockSkew` (DESIGN "Self-fencing").
 */
function deadlines(body: LeaseResponse, sentAt: number): Pick<Held, 'renewAt' | 'fenceAt'> {
  const now = Date.parse(body.now);
  return {
    renewAt: sentAt + (Date.parse(body.lease.renewAfter) - now),
    fenceAt: sentAt + (Date.parse(body.lease.expiresAt) - now) - body.maxClockSkewMs,
  };
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export class LeaseKeeper {
  private current: Held;
  private readonly stopping = new AbortController();
  /** Aborted at every grant, so the fence watch follows the newest deadline. */
  private fenceWatch = new AbortController();
  /** Resolves when the keeper stopped: undefined after stop(), the reason when it gave up. */
  readonly done: Promise<Error | undefined>;

  private constructor(
    private readonly o: KeeperOptions,
    private readonly hooks: KeeperHooks,
    first: Held,
  ) {
    this.current = first;
    this.watchFence(first);
    this.done = this.run().then(
      () => undefined,
      (e: unknown) => asError(e),
    );
  }

  /** Acquires the first lease (failing fast, with the registry's error) and keeps it from then on. */
  static async start(o: KeeperOptions, hooks: KeeperHooks): Promise<LeaseKeeper> {
    try {
      const first = await acquire(o);
      await used(o, first, hooks, 'acquired');
      return new LeaseKeeper(o, hooks, first);
    } catch (e) {
      throw e instanceof Fatal ? e.cause : e;
    }
  }

  /** One grant, not kept: no renewal, no release (`snowgate lease --once`). */
  static async grantOnce(o: KeeperOptions, onGrant: KeeperHooks['onGrant']): Promise<Held> {
    try {
      const h = await acquire(o);
      await used(o, h, { onGrant }, 'acquired');
      return h;
    } catch (e) {
      throw e instanceof Fatal ? e.cause : e;
    }
  }

  get held(): Held {
    return this.current;
  }

  /** Stops renewing; gives the lease back unless `release` is false. Says how the release went. */
  async stop(release = true): Promise<string | undefined> {
    this.stopping.abort();
    this.fenceWatch.abort();
    await this.done;
    if (!release) return undefined;
    return releaseLease(this.o, this.current.body.lease.id);
  }

  private async run(): Promise<void> {
    for (;;) {
      const lost = await this.renewWhileHeld();
      if (!lost) return;
      this.hooks.onLost(lost);
      if (lost.reason === 'superseded') {
        // Someone with this principal and instance took over. Taking it back would start a tug of
        // war between two keepers, so this one gives way.
        throw new LeaseSupersededError(
          `lease ${lost.leaseId} was superseded (another process with the same instance?)`,
          { cause: lost.error },
        );
      }
      const next = await this.reacquire();
      if (!next) return;
      this.grant(next);
    }
  }

  private grant(h: Held): void {
    this.current = h;
    this.watchFence(h);
  }

  /** Renews until stopped (undefined) or until the lease is lost. */
  private async renewWhileHeld(): Promise<Lost | undefined> {
    const { runtime } = this.o;
    const backoff = new Backoff(this.o.backoff.initialMs, this.o.backoff.maxMs, runtime.random);
    for (;;) {
      const wait = this.current.renewAt - runtime.monotonic();
      await runtime.sleep(
        Math.max(MIN_RENEW_GAP_MS, wait * (1 - RENEW_JITTER * runtime.random())),
        this.stopping.signal,
      );
      backoff.reset();
      for (;;) {
        if (this.stopping.signal.aborted) return undefined;
        const held = this.current;
        try {
          const next = await renew(this.o, held);
          await used(this.o, next, this.hooks, 'renewed');
          this.grant(next);
          break;
        } catch (e) {
          if (e instanceof Fatal) throw e.cause;
          const leaseId = held.body.lease.id;
          if (e instanceof LeaseGoneError) return { leaseId, reason: e.endReason ?? 'unknown', error: e };
          if (e instanceof NotFoundError) return { leaseId, reason: 'unknown', error: e };
          const left = held.fenceAt - runtime.monotonic();
          if (left <= 0) return { leaseId, reason: 'unreachable', error: asError(e) };
          const delay = Math.max(50, Math.min(backoff.delay(retryAfterOf(e)), left / 2));
          this.hooks.onRetry('renew', asError(e), delay);
          await runtime.sleep(delay, this.stopping.signal);
        }
      }
    }
  }

  private async reacquire(): Promise<Held | undefined> {
    const { runtime } = this.o;
    const backoff = new Backoff(this.o.backoff.initialMs, this.o.backoff.maxMs, runtime.random);
    for (;;) {
      if (this.stopping.signal.aborted) return undefined;
      try {
        // Not aborted by stop(): a grant in flight must land so that it can be released.
        const h = await acquire(this.o);
        await used(this.o, h, this.hooks, 'acquired');
        return h;
      } catch (e) {
        if (e instanceof Fatal) throw e.cause;
        if (!isRetryable(e)) throw e;
        const delay = backoff.delay(retryAfterOf(e));
        this.hooks.onRetry('acquire', asError(e), delay);
        await this.o.runtime.sleep(delay, this.stopping.signal);
      }
    }
  }

  /** Tells the hooks once the fence passes with no renewal landed (the generator stops by itself). */
  private watchFence(h: Held): void {
    this.fenceWatch.abort();
    const watch = new AbortController();
    this.fenceWatch = watch;
    const { runtime } = this.o;
    void (async () => {
      // Timers can fire early by a hair: re-check the monotonic clock before saying so.
      while (!watch.signal.aborted && runtime.monotonic() < h.fenceAt) {
        await runtime.sleep(h.fenceAt - runtime.monotonic() + 1, watch.signal);
      }
      if (!watch.signal.aborted) this.hooks.onFenced(h);
    })();
  }
}

function retryAfterOf(e: unknown): number | undefined {
  return (e as { retryAfterMs?: number }).retryAfterMs;
}

async function post(
  o: KeeperOptions,
  route: string,
  body: unknown,
): Promise<{ raw: unknown; sentAt: number; roundTripMs: number }> {
  const token = await resolveToken(o.token);
  const sentAt = o.runtime.monotonic();
  const raw = await call(o.registry, 'POST', route, {
    token,
    body,
    timeoutMs: o.requestTimeoutMs,
    fetch: o.runtime.fetch,
  });
  return { raw, sentAt, roundTripMs: o.runtime.monotonic() - sentAt };
}

/**
 * The answer of a lease call, checked. An unusable one that names a lease is given back first:
 * a lease this process cannot use would hold its node until it expires, and acquiring anew would
 * leak one lease per try.
 */
async function checked(o: KeeperOptions, raw: unknown): Promise<LeaseResponse> {
  try {
    return checkLeaseResponse(raw);
  } catch (e) {
    const id = leaseIdOf(raw);
    if (!id) throw new Fatal(undefined, { cause: e });
    const outcome = await releaseLease(o, id).catch((r: unknown) => asError(r).message);
    throw new Fatal(undefined, {
      cause: new UnexpectedResponseError(`${asError(e).message}; ${outcome}`, { cause: e }),
    });
  }
}

async function acquire(o: KeeperOptions): Promise<Held> {
  const user = o.localUserKey ? generateNkey('user') : undefined;
  const body = user ? { ...o.request, natsPublicKey: user.publicKey } : o.request;
  const { raw, sentAt, roundTripMs } = await post(o, '/v1/leases', body);
  const res = await checked(o, raw);
  const seed = res.nats?.seed ?? (res.nats ? user?.seed : undefined);
  return { body: res, seed, roundTripMs, ...deadlines(res, sentAt) };
}

async function renew(o: KeeperOptions, held: Held): Promise<Held> {
  const { raw, sentAt, roundTripMs } = await post(o, `/v1/leases/${encodeURIComponent(held.body.lease.id)}/renew`, {});
  const res = await checked(o, raw);
  return { body: res, seed: held.seed, roundTripMs, ...deadlines(res, sentAt) };
}

/** Runs the grant hook; when it refuses the lease, the lease goes back and the keeper stops. */
async function used(
  o: KeeperOptions,
  h: Held,
  hooks: Pick<KeeperHooks, 'onGrant'>,
  kind: 'acquired' | 'renewed',
): Promise<void> {
  try {
    await hooks.onGrant(h, kind);
  } catch (e) {
    const outcome = await releaseLease(o, h.body.lease.id).catch((r: unknown) => asError(r).message);
    const err = asError(e);
    err.message = `${err.message}; ${outcome}`;
    throw new Fatal(undefined, { cause: err });
  }
}

/** Gives a lease back. Says how it went; throws only when the registry could not be told. */
export async function releaseLease(
  o: Pick<KeeperOptions, 'registry' | 'token' | 'runtime'>,
  id: string,
): Promise<string> {
  try {
    await call(o.registry, 'DELETE', `/v1/leases/${encodeURIComponent(id)}`, {
      token: await resolveToken(o.token),
      timeoutMs: RELEASE_TIMEOUT_MS,
      fetch: o.runtime.fetch,
    });
    return `released lease ${id}`;
  } catch (e) {
    if (e instanceof LeaseGoneError || e instanceof NotFoundError) return `lease ${id} had already ended`;
    throw new Error(`releasing lease ${id} failed: ${asError(e).message}`, { cause: e });
  }
}
