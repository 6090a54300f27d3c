/**
 * Group commit for a single-writer database: units that arrive together (in the same turn of the
 * event loop, or while a commit was being written) run one after another inside one transaction,
 * each in a savepoint, and are answered after the one COMMIT: one fsync for all of them. A unit
 * that throws is rolled back to its savepoint alone; its neighbours commit. When the database itself
 * rolls the transaction back (a full disk, an I/O error) or COMMIT fails, no unit of the batch was
 * committed and each is answered with that fault.
 *
 * A connection that commits without waiting for the disk says so with `durable`: the batch's units
 * are then answered once it resolves, and the next batch runs meanwhile (see wal-sync.ts).
 */
export interface Connection {
  begin(): void;
  savepoint(): void;
  release(): void;
  rollbackToSavepoint(): void;
  commit(): void;
  rollback(): void;
  inTransaction(): boolean;
  /** Resolves once everything committed so far is on disk; absent when COMMIT itself waits for it. */
  durable?(): Promise<void>;
}

interface Unit<T> {
  run(): Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

/** Enough to share a commit among a burst, small enough that no unit waits long behind others. */
const MAX_BATCH = 256;

export class GroupCommit {
  private queue: Unit<unknown>[] = [];
  private scheduled = false;

  constructor(
    private readonly conn: Connection,
    /** Runs the batch exclusively (the store's mutex). */
    private readonly exclusive: (fn: () => Promise<void>) => Promise<void>,
    /** Maps a database error to what the caller is told; records it for readiness. */
    private readonly fault: (e: unknown) => unknown,
    private readonly committed: () => void,
  ) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: fn, resolve: resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn, so requests that arrived together share the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.exclusive(() => this.batch());
    });
  }

  private async batch(): Promise<void> {
    const units = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) this.schedule();
    if (units.length === 0) return;
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.conn.begin();
    } catch (e) {
      const err = this.fault(e);
      for (const u of units) u.reject(err);
      return;
    }
    for (const [i, u] of units.entries()) {
      this.conn.savepoint();
      try {
        results.push({ ok: true, value: await u.run() });
        this.conn.release();
      } catch (e) {
        if (!this.conn.inTransaction()) {
          // The database rolled everything back: this batch committed nothing. The units not yet
          // run go into the next batch.
          const err = this.fault(e);
          for (const done of units.slice(0, i + 1)) done.reject(err);
          this.queue.unshift(...units.slice(i + 1));
          if (this.queue.length > 0) this.schedule();
          return;
        }
        this.conn.rollbackToSavepoint();
        this.conn.release();
        results.push({ ok: false, error: this.fault(e) });
      }
    }
    try {
      this.conn.commit();
    } catch (e) {
      if (this.conn.inTransaction()) {
        try {
          this.conn.rollback();
        } catch {
          // Nothing was committed either way.
        }
      }
      const err = this.fault(e);
      for (const [i, u] of units.entries()) {
        const r = results[i]!;
        u.reject(r.ok ? err : r.error);
      }
      return;
    }
    this.committed();
    const answer = (fault?: unknown) => {
      for (const [i, u] of units.entries()) {
        const r = results[i]!;
        if (!r.ok) u.reject(r.error);
        else if (fault !== undefined) u.reject(fault);
        else u.resolve(r.value);
      }
    };
    if (!this.conn.durable) return answer();
    // Not awaited: the next batch may run while this one's commit reaches the disk.
    this.conn.durable().then(
      () => answer(),
      (e: unknown) => answer(this.fault(e)),
    );
  }
}
