/**
 * Holds a lease from the command line: acquire, renew at renewAfter, re-acquire when the lease is
 * lost, release on shutdown. The NATS credentials follow the lease into a creds file.
 */
import { performance } from 'node:perf_hooks';
import { createUser } from '@nats-io/nkeys';
import { formatCreds } from '../nats/user-jwt.js';
import { fenceDeadline } from '../snowflake/generator.js';
import { writeFileAtomic } from './creds-file.js';
import { checkLeaseResponse, leaseIdOf, type LeaseResponse } from './lease-response.js';
import { call, HttpProblem } from './registry-client.js';
import { sleep } from './signals.js';
import type { TokenSource } from './token-source.js';

export interface KeeperOptions {
  registry: string;
  token: TokenSource;
  request: { pool?: string; instance?: string; node?: number };
  credsFile?: string;
  /** Print the grant and return: no renewal, no release. */
  once: boolean;
  /** Aborts on shutdown: the keeper then releases the lease and returns. */
  signal: AbortSignal;
  /** One JSON line per granted lease, for stdout. */
  print(line: string): void;
  /** Progress and trouble, for stderr. */
  log(line: string): void;
}

/** A granted lease with its deadlines on this process's monotonic clock. */
interface Held {
  body: LeaseResponse;
  /** The NATS user seed, kept across renewals (they return only a fresh JWT). */
  seed?: string;
  renewAt: number;
  /** The fence: past this the lease may be over at the registry, so no point renewing; acquire anew. */
  expireAt: number;
}

/**
 * A failure that waiting cannot fix (the creds file cannot be written, the registry answers in a
 * shape this client does not know): neither renewing nor acquiring anew retries it.
 */
class Fatal extends Error {}

type Ending = { kind: 'stopped'; held: Held } | { kind: 'lost'; why: string };

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const RELEASE_TIMEOUT_MS = 10_000;
const MIN_RENEW_GAP_MS = 100;

/**
 * Deadlines on the monotonic clock, counted from when the request was sent against the registry's
 * own `now` (checkLeaseResponse insists on it): the same fence a generator would hold (§4).
 */
function schedule(body: LeaseResponse, sentAt: number): Pick<Held, 'renewAt' | 'expireAt'> {
  const registryNowMs = Date.parse(body.now);
  return {
    // No skew taken off: renewAfter is when to start trying, well before the fence.
    renewAt: sentAt + (Date.parse(body.lease.renewAfter) - registryNowMs),
    expireAt: fenceDeadline({
      sentAtMonotonic: sentAt,
      expiresAtMs: Date.parse(body.lease.expiresAt),
      registryNowMs,
      maxClockSkewMs: body.maxClockSkewMs,
    }),
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Gives a lease back. Says how it went; throws only when the registry could not be told. */
async function release(o: KeeperOptions, id: string): Promise<string> {
  try {
    await call(o.registry, 'DELETE', `/v1/leases/${encodeURIComponent(id)}`, {
      token: await o.token(),
      timeoutMs: RELEASE_TIMEOUT_MS,
    });
    return `released lease ${id}`;
  } catch (e) {
    if (e instanceof HttpProblem && (e.status === 404 || e.status === 410)) return `lease ${id} had already ended`;
    throw new Error(`releasing lease ${id} failed: ${describe(e)}`);
  }
}

/**
 * Fails for good, giving the lease back first (best effort): a lease this process cannot use
 * would otherwise hold its node until it expires, and re-acquiring would leak one lease per try.
 */
async function abandon(o: KeeperOptions, id: string, why: string): Promise<never> {
  const outcome = await release(o, id).catch(describe);
  throw new Fatal(`${why}; ${outcome}`);
}

/** The answer of a lease call, checked; an unusable one is released if it names a lease. */
async function leaseAnswer(o: KeeperOptions, raw: unknown): Promise<LeaseResponse> {
  try {
    return checkLeaseResponse(raw);
  } catch (e) {
    const id = leaseIdOf(raw);
    if (id) return abandon(o, id, describe(e));
    throw new Fatal(describe(e));
  }
}

async function writeCreds(o: KeeperOptions, body: LeaseResponse, seed: string | undefined): Promise<void> {
  if (!o.credsFile) return;
  let text: string | undefined;
  if (body.nats?.creds) text = body.nats.creds;
  else if (body.nats?.jwt && seed) text = formatCreds(body.nats.jwt, seed);
  if (text === undefined) return;
  try {
    await writeFileAtomic(o.credsFile, text);
  } catch (e) {
    // The workload reads its NATS identity from this file: without it the lease is of no use.
    await abandon(o, body.lease.id, `--creds-file ${o.credsFile}: ${describe(e)}`);
  }
}

async function acquire(o: KeeperOptions): Promise<Held> {
  // With a creds file the user key is made here, so its seed never crosses the network (§5).
  const user = o.credsFile ? createUser() : undefined;
  const request = { ...o.request, ...(user ? { natsPublicKey: user.getPublicKey() } : {}) };
  const sentAt = performance.now();
  // Not aborted by shutdown: a grant in flight must land so that it can be released.
  const body = await leaseAnswer(
    o,
    await call(o.registry, 'POST', '/v1/leases', { token: await o.token(), body: request }),
  );
  const seed = body.nats?.seed ?? (user ? new TextDecoder().decode(user.getSeed()) : undefined);
  if (o.credsFile && !body.nats) o.log(`the registry issued no NATS credentials; ${o.credsFile} not written`);
  await writeCreds(o, body, seed);
  o.print(JSON.stringify(body));
  return { body, ...(seed ? { seed } : {}), ...schedule(body, sentAt) };
}

async function renew(o: KeeperOptions, held: Held): Promise<Held> {
  const id = encodeURIComponent(held.body.lease.id);
  const sentAt = performance.now();
  const body = await leaseAnswer(
    o,
    await call(o.registry, 'POST', `/v1/leases/${id}/renew`, { token: await o.token(), body: {} }),
  );
  await writeCreds(o, body, held.seed);
  return { body, ...(held.seed ? { seed: held.seed } : {}), ...schedule(body, sentAt) };
}

/** Renews until shutdown or until the lease is lost (gone at the registry, or expired unrenewed). */
async function renewWhileHeld(o: KeeperOptions, first: Held): Promise<Ending> {
  let held = first;
  for (;;) {
    // A floor, so a renewAfter already past (a paused process, a confused registry) cannot spin.
    await sleep(Math.max(MIN_RENEW_GAP_MS, held.renewAt - performance.now()), o.signal);
    let backoff = MIN_BACKOFF_MS;
    for (;;) {
      if (o.signal.aborted) return { kind: 'stopped', held };
      try {
        held = await renew(o, held);
        o.log(`renewed lease ${held.body.lease.id} until ${held.body.lease.expiresAt}`);
        break;
      } catch (e) {
        if (e instanceof Fatal) throw e;
        if (e instanceof HttpProblem && (e.status === 410 || e.status === 404)) {
          if (/supersed/i.test(e.detail ?? '')) {
            // Someone with our principal and instance took over. Taking it back would start
            // a tug of war between two keepers, so this one gives way.
            throw new Error(`lease ${held.body.lease.id} was superseded (another process with this --instance?)`);
          }
          return { kind: 'lost', why: describe(e) };
        }
        const left = held.expireAt - performance.now();
        if (left <= 0) return { kind: 'lost', why: `expired before a renewal landed (${describe(e)})` };
        const wait = Math.max(50, Math.min((e as HttpProblem).retryAfterMs ?? backoff, left / 2));
        o.log(`renewal of lease ${held.body.lease.id} failed: ${describe(e)}; retrying in ${Math.round(wait)} ms`);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        await sleep(wait, o.signal);
      }
    }
  }
}

/** Failures worth waiting out: the network, an expired token about to be replaced, busy or full pools. */
function retryable(e: unknown): boolean {
  if (e instanceof Fatal) return false;
  if (!(e instanceof HttpProblem)) return true;
  return [401, 408, 409, 429].includes(e.status) || e.status >= 500;
}

async function reacquire(o: KeeperOptions): Promise<Held | undefined> {
  let backoff = MIN_BACKOFF_MS;
  for (;;) {
    if (o.signal.aborted) return undefined;
    try {
      return await acquire(o);
    } catch (e) {
      if (!retryable(e)) throw e;
      const wait = (e as HttpProblem).retryAfterMs ?? backoff;
      o.log(`acquiring a lease failed: ${describe(e)}; retrying in ${Math.round(wait)} ms`);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      await sleep(wait, o.signal);
    }
  }
}

/** Runs until shutdown (resolves after releasing) or a failure that waiting cannot fix (rejects). */
export async function keepLease(o: KeeperOptions): Promise<void> {
  let held = await acquire(o);
  if (o.once) return;
  for (;;) {
    const end = await renewWhileHeld(o, held);
    if (end.kind === 'stopped') return o.log(await release(o, end.held.body.lease.id));
    o.log(`lease ${held.body.lease.id} lost: ${end.why}; acquiring anew`);
    const next = await reacquire(o);
    if (!next) return;
    held = next;
  }
}
