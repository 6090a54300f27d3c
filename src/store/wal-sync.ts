/**
 * Durability for SQLite commits without blocking the event loop.
 *
 * With synchronous=FULL, better-sqlite3's COMMIT calls fsync on the main thread: every request in
 * flight waits for the disk, and the CPU sits idle meanwhile. The store runs with
 * synchronous=NORMAL instead, where a WAL-mode COMMIT writes its frames to the WAL file and
 * returns, and this module makes them durable: an fdatasync of the WAL on libuv's thread pool.
 * A unit is answered only after a sync that began after its COMMIT returned, so what a client
 * is told was granted, renewed or released is on disk exactly as with FULL; meanwhile the next
 * batch runs. Frames are appended in commit order, so a sync covers every commit before it.
 *
 * NORMAL still syncs the WAL before each checkpoint and the database after it, so a checkpoint
 * never copies frames the disk does not hold. A crash before a sync loses only commits no client
 * was told of, as a crash between COMMIT and the answer always could.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** One sync at a time; callers that arrive while it runs share the next one. */
export class Coalesced {
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(private readonly op: () => Promise<void>) {}

  /** Resolves once an `op` that began after this call has finished. */
  after(): Promise<void> {
    if (this.#running === undefined) return this.#start();
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.#start();
      });
    return this.#next;
  }

  /** Until the sync in flight (and the one queued after it) has finished. */
  async idle(): Promise<void> {
    await this.#next?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
  }

  #start(): Promise<void> {
    const p: Promise<void> = this.op().finally(() => {
      if (this.#running === p) this.#running = undefined;
    });
    this.#running = p;
    return p;
  }
}

/** fdatasync of a database's WAL file, coalesced. */
export class WalSync {
  #handle: Promise<FileHandle> | undefined;
  readonly #syncs = new Coalesced(async () => {
    // Opened on first use: SQLite creates the WAL with its first transaction. While the database
    // stays open the WAL is never unlinked (only the last connection's close removes it), so
    // this handle names the file SQLite writes, through every checkpoint and restart of it.
    this.#handle ??= open(this.walFile, 'r').catch((e: unknown) => {
      this.#handle = undefined;
      throw e;
    });
    await (await this.#handle).datasync();
  });

  constructor(private readonly walFile: string) {}

  /** Resolves once everything committed before the call is on disk. */
  durable(): Promise<void> {
    return this.#syncs.after();
  }

  async close(): Promise<void> {
    await this.#syncs.idle();
    const h = this.#handle;
    this.#handle = undefined;
    await (await h?.catch(() => undefined))?.close();
  }
}
