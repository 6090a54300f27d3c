/**
 * The clocks, timers, network and randomness the client runs on, in one object so tests can
 * step time and answer requests by hand. Only the monotonic clock measures deadlines: no wall
 * clock step or process pause can stretch a lease (DESIGN "Self-fencing").
 */
import { performance } from 'node:perf_hooks';

export interface Runtime {
  /** Monotonic milliseconds. @default performance.now */
  monotonic: () => number;
  /** Waits `ms`, or less when the signal aborts; never rejects. @default timers */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default globalThis.fetch */
  fetch: typeof fetch;
  /** In [0, 1), for jitter. @default Math.random */
  random: () => number;
}

/**
 * The longest delay setTimeout honours: a longer one (a far-off renewAfter, a huge Retry-After)
 * fires after 1 ms instead, which would turn a wait into a tight loop.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

function sleepOnce(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Waits `ms`, or less when the signal aborts first; never rejects. Any length, in timer-sized steps. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  let left = ms;
  while (left > 0 && !signal?.aborted) {
    const step = Math.min(left, MAX_TIMER_MS);
    await sleepOnce(step, signal);
    left -= step;
  }
}

export const systemRuntime: Runtime = {
  monotonic: () => performance.now(),
  sleep,
  fetch: (...args) => fetch(...args),
  random: Math.random,
};

/** Capped exponential backoff with jitter (half fixed, half random, as nats.js reconnects do). */
export class Backoff {
  private next: number;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number,
  ) {
    this.next = initialMs;
  }
  /** The wait before the next try; a server's Retry-After, when given, wins. */
  delay(retryAfterMs?: number): number {
    const base = this.next;
    this.next = Math.min(this.next * 2, this.maxMs);
    if (retryAfterMs !== undefined) return retryAfterMs;
    return base / 2 + (base / 2) * this.random();
  }
  reset(): void {
    this.next = this.initialMs;
  }
}
