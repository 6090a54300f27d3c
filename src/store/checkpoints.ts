/**
 * WAL checkpoints off the event loop.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages, on the
 * main thread: it copies those pages into the database and syncs the WAL and the database, and
 * every request waits meanwhile (under load, ~8 % of the grant path's time). The store turns it
 * off and checkpoints from a worker thread on a connection of its own instead, every
 * CHECKPOINT_EVERY_MS while there were commits. A first pass copies while units go on writing; a
 * second copies what they wrote meanwhile, holding the store's mutex so that no unit writes: every
 * frame is then in the database and the next commit starts the WAL over, which keeps the file's
 * size bounded. The event loop goes on taking requests throughout (units queued during the second
 * pass share the next commit).
 *
 * If the worker cannot run, the store is told and turns SQLite's own checkpoints back on.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_EVERY_MS = 100;

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

type Reply = ({ ok: true } & CheckpointResult) | { ok: false; message: string };

export class Checkpointer {
  readonly #worker: Worker;
  readonly #timer: NodeJS.Timeout;
  #dirty = false;
  #running: Promise<unknown> | undefined;
  #waiting: ((r: Reply) => void) | undefined;
  #failed = false;

  constructor(
    file: string,
    /** Runs the checkpoint with no unit on the connection (the store's mutex). */
    private readonly exclusive: (fn: () => Promise<void>) => Promise<void>,
    /** The worker is gone: the store checkpoints by itself from now on. */
    private readonly failed: (e: unknown) => void,
  ) {
    this.#worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file } });
    // Neither the thread nor the timer keeps a process alive that is otherwise done.
    this.#worker.unref();
    this.#worker.on('message', (r: Reply) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      this.#worker.unref();
      w?.(r);
    });
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the checkpoint worker exited (${code})`)));
    this.#timer = setInterval(() => this.#tick(), CHECKPOINT_EVERY_MS);
    this.#timer.unref();
  }

  /** Something was committed: the next tick checkpoints it. */
  committed(): void {
    this.#dirty = true;
  }

  /**
   * Copies the WAL into the database now: most of it while units go on writing, then what they
   * wrote meanwhile with none writing, so every frame is copied. What the last pass found and copied.
   */
  checkpoint(): Promise<CheckpointResult> {
    const run = (async () => {
      const check = (r: Reply) => {
        if (!r.ok) throw new Error(`WAL checkpoint failed: ${r.message}`);
        return r;
      };
      check(await this.#ask());
      let last: CheckpointResult | undefined;
      await this.exclusive(async () => void (last = check(await this.#ask())));
      return last!;
    })();
    const done: Promise<unknown> = run
      .catch(() => undefined)
      .finally(() => {
        if (this.#running === done) this.#running = undefined;
      });
    this.#running = done;
    return run;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    if (this.#failed) return;
    this.#failed = true;
    // Closed by the worker itself, so its connection is gone before the store closes its own.
    const exited = once(this.#worker, 'exit');
    this.#worker.ref();
    this.#worker.postMessage('close');
    await exited;
  }

  #tick(): void {
    if (!this.#dirty || this.#running || this.#failed) return;
    this.#dirty = false;
    // A failed checkpoint (the disk full, say) is tried again at the next tick with commits.
    this.checkpoint().catch(() => (this.#dirty = true));
  }

  #ask(): Promise<Reply> {
    if (this.#failed) return Promise.resolve({ ok: false, message: 'the checkpoint worker is gone' });
    return new Promise((resolve) => {
      this.#waiting = resolve;
      // Held while an answer is awaited: a process with nothing else to do waits for it.
      this.#worker.ref();
      this.#worker.postMessage('checkpoint');
    });
  }

  #fail(e: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    clearInterval(this.#timer);
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.({ ok: false, message: String(e) });
    this.failed(e);
  }
}
