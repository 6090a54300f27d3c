/**
 * Coalesces revocations: the leases that end within a short window are saved and pushed as one
 * account update. The cost of an update grows with the revocations the account carries (the JWT is
 * rebuilt, signed, saved and parsed by the servers whole), so updates are paced: at least `minGapMs`
 * apart, and longer after a costly one. A release then costs the same at 5,000 revocations as at
 * none, and updates never take more than a fixed share of the time. An urgent add (an admin's
 * revocation) skips the wait.
 */
import type { Clock } from '../clock.js';

export interface RevocationQueueOptions {
  /** Saves one batch: user key → only if missing. Resolves with the state version holding it. */
  flush: (batch: ReadonlyMap<string, boolean>) => Promise<number>;
  /** After a save: resolves once the servers took it (or gave up), so updates go at their pace too. */
  pace?: () => Promise<void>;
  clock: Clock;
  /** Shortest pause between two updates. */
  minGapMs?: number;
  /** Pause after an update, as a multiple of what it took: 2 keeps updates under a third of the time. */
  gapFactor?: number;
  /** Longest pause, whatever an update cost. */
  maxGapMs?: number;
  /** Pause before a batch whose save failed is tried again (it stays queued). */
  retryMs?: number;
  onError?: (err: Error) => void;
}

interface Waiter {
  resolve: (version: number) => void;
  reject: (e: Error) => void;
}

/** What a caller still waiting hears when the queue closes (the registry shutting down). */
export class RevocationQueueClosed extends Error {
  constructor(message = 'the revocation queue closed') {
    super(message);
    this.name = 'RevocationQueueClosed';
  }
}

export class RevocationQueue {
  readonly #o: Required<Omit<RevocationQueueOptions, 'onError' | 'pace'>> & RevocationQueueOptions;
  /** Queued user keys → only if missing (false once any caller wants it re-stamped). */
  #batch = new Map<string, boolean>();
  /** The batch being saved: not in the state yet, so still counted here. */
  #saving = 0;
  #waiters: Waiter[] = [];
  #running = false;
  #closed = false;
  #notBefore = 0;
  #wake: (() => void) | undefined;
  #lastCostMs = 0;

  constructor(options: RevocationQueueOptions) {
    this.#o = { minGapMs: 5, gapFactor: 2, maxGapMs: 1000, retryMs: 1000, ...options };
  }

  /** Keys queued or being saved: not in the saved state yet. */
  get size(): number {
    return this.#batch.size + this.#saving;
  }

  has(key: string): boolean {
    return this.#batch.has(key);
  }

  /** What the last update took, in ms. */
  get lastCostMs(): number {
    return this.#lastCostMs;
  }

  /**
   * Queues `keys` (synchronously: a caller that does not await still has them queued) and resolves
   * with the state version that holds them, once saved.
   */
  add(keys: readonly string[], opts: { onlyMissing?: boolean; urgent?: boolean } = {}): Promise<number> {
    if (this.#closed) return Promise.reject(new RevocationQueueClosed('the revocation queue is closed'));
    const onlyMissing = opts.onlyMissing ?? false;
    for (const k of keys) this.#batch.set(k, (this.#batch.get(k) ?? true) && onlyMissing);
    const done = new Promise<number>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (opts.urgent) {
      this.#notBefore = 0;
      this.#wake?.();
    }
    if (!this.#running) void this.#run();
    return done;
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
    for (const w of this.#waiters.splice(0)) w.reject(new RevocationQueueClosed());
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while ((this.#batch.size > 0 || this.#waiters.length > 0) && !this.#closed) {
        await this.#pause(this.#notBefore - this.#o.clock.now());
        if (this.#closed) return;
        const batch = this.#batch;
        const waiters = this.#waiters;
        this.#batch = new Map();
        this.#waiters = [];
        const started = this.#o.clock.now();
        let failed = false;
        this.#saving = batch.size;
        try {
          const version = await this.#o.flush(batch);
          this.#saving = 0;
          for (const w of waiters) w.resolve(version);
          await this.#o.pace?.();
        } catch (e) {
          this.#saving = 0;
          failed = true;
          // Never dropped: back in the queue (under anything queued since), tried again after a pause.
          for (const [k, onlyMissing] of batch) this.#batch.set(k, (this.#batch.get(k) ?? true) && onlyMissing);
          this.#o.onError?.(e as Error);
          for (const w of waiters) w.reject(e as Error);
        }
        const ended = this.#o.clock.now();
        this.#lastCostMs = ended - started;
        const gap = Math.min(this.#o.maxGapMs, Math.max(this.#o.minGapMs, this.#lastCostMs * this.#o.gapFactor));
        this.#notBefore = ended + (failed ? this.#o.retryMs : gap);
      }
    } finally {
      this.#running = false;
    }
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
