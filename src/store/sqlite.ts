/**
 * The embedded default store: SQLite through better-sqlite3, in WAL mode, where a grant the client
 * was told about survives a crash of the process or the machine: it is answered only once its
 * commit is on disk (wal-sync.ts). One process owns the file; its clock is the store's clock.
 * Units that arrive together share one commit (group-commit.ts), and the disk syncs of successive
 * commits run beside the next units instead of stopping the event loop.
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { NatsStateStore } from '../nats/state.js';
import { preparePrivateFile } from './private-file.js';
import type { AuditEntry, Lease, Mapping } from '../registry/types.js';
import { describeFault, isSqliteFault, StoreUnavailable } from './faults.js';
import { Checkpointer, type CheckpointResult } from './checkpoints.js';
import { GroupCommit } from './group-commit.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { Mutex } from './mutex.js';
import type { LeaseFilter, Store, StoreTx } from './port.js';
import { auditFromRow, leaseFromRow, mappingFromRow, type LeaseRow } from './rows.js';
import { prepareStatements, type Statements } from './sqlite-statements.js';
import { leaseById, SqliteNodes, sqliteTx } from './sqlite-tx.js';
import { WalSync } from './wal-sync.js';

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const done = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .pluck()
      .all()
      .map((v) => Number(v)),
  );
  for (const m of SQLITE_MIGRATIONS) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
    }).immediate();
  }
}

export interface SqliteOptions {
  /** How long a write waits for a lock held by another process before it fails (503). Default 5000. */
  busyTimeoutMs?: number;
  /** Caps the database at this many pages (PRAGMA max_page_count): a write past it fails as a full disk would. */
  maxPageCount?: number;
}

/** Pages a write needs at least, for /readyz to call a full store usable again. */
const HEADROOM_PAGES = 16;
const HEADROOM_BYTES = 1024 * 1024;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  // better-sqlite3 is synchronous, but units are async (the port is shared with PostgreSQL), so a
  // mutex keeps one unit at a time on the connection and keeps readers out of open units.
  private readonly mutex = new Mutex();
  private readonly q: Statements;
  private readonly nodes: SqliteNodes;
  private readonly commits: GroupCommit;
  private readonly wal: WalSync | undefined;
  private readonly checkpoints: Checkpointer | undefined;
  /** Set when a unit of the batch being committed hit a fault, so its commit does not clear it. */
  private batchFaulted = false;
  readonly natsState: NatsStateStore;
  /** The last write's fault, until a write commits again or /readyz finds it cleared. */
  private writeFault: unknown;

  constructor(
    private readonly file: string,
    private readonly clock: Clock = systemClock,
    options: SqliteOptions = {},
  ) {
    if (file !== ':memory:') preparePrivateFile(file);
    this.db = new Database(file);
    const inWal = this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    // In WAL mode commits reach the disk through WalSync, off the event loop (see wal-sync.ts).
    this.wal = inWal ? new WalSync(`${file}-wal`) : undefined;
    this.db.pragma(`synchronous = ${inWal ? 'NORMAL' : 'FULL'}`);
    this.db.pragma(`busy_timeout = ${Math.floor(options.busyTimeoutMs ?? 5000)}`);
    this.db.pragma('foreign_keys = ON');
    if (options.maxPageCount !== undefined) this.db.pragma(`max_page_count = ${Math.floor(options.maxPageCount)}`);
    migrate(this.db);
    if (inWal) {
      // Checkpoints run on a thread of their own (checkpoints.ts), SQLite's own only without it.
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpoints = new Checkpointer(
        file,
        (fn) => this.mutex.run(fn),
        () => void this.db.pragma('wal_autocheckpoint = 1000'),
      );
    }
    this.q = prepareStatements(this.db);
    this.nodes = new SqliteNodes(this.db, this.q);
    const db = this.db;
    // Prepared once: every unit takes a savepoint and releases it.
    const stmt = (sql: string) => {
      const prepared = db.prepare(sql);
      return () => void prepared.run();
    };
    this.commits = new GroupCommit(
      {
        begin: stmt('BEGIN IMMEDIATE'),
        savepoint: stmt('SAVEPOINT unit'),
        release: stmt('RELEASE unit'),
        rollbackToSavepoint: stmt('ROLLBACK TO unit'),
        commit: stmt('COMMIT'),
        rollback: stmt('ROLLBACK'),
        inTransaction: () => db.inTransaction,
        ...(this.wal ? { durable: () => this.durable() } : {}),
      },
      (batch) => this.mutex.run(batch),
      (e) => this.fault(e, true),
      () => {
        if (!this.batchFaulted) this.writeFault = undefined;
        this.batchFaulted = false;
        this.checkpoints?.committed();
      },
    );
    this.natsState = {
      load: () => this.locked(() => this.q.natsLoad.get()),
      version: () => this.locked(() => this.q.natsVersion.get()?.version ?? 0),
      save: (expectedVersion, data) =>
        this.writing(() => {
          const r =
            expectedVersion === 0
              ? this.q.natsInsert.run(1, data)
              : this.q.natsUpdate.run(expectedVersion + 1, data, expectedVersion);
          return r.changes === 1;
        }),
    };
  }

  /** A read under the mutex; a fault (the file locked or unreadable) is a 503. */
  private locked<T>(fn: () => T): Promise<T> {
    return this.mutex.run(() => {
      try {
        return Promise.resolve(fn());
      } catch (e) {
        throw this.fault(e, false);
      }
    });
  }

  /** A single-statement write under the mutex, recorded for /readyz like a unit, answered once durable. */
  private async writing<T>(fn: () => T): Promise<T> {
    const r = await this.mutex.run(() => {
      try {
        const r = fn();
        this.writeFault = undefined;
        this.checkpoints?.committed();
        return Promise.resolve(r);
      } catch (e) {
        throw this.fault(e, true);
      }
    });
    await this.durable();
    return r;
  }

  /** Everything committed so far on disk; a failed sync is a 503 and what /readyz reports. */
  private async durable(): Promise<void> {
    try {
      await this.wal?.durable();
    } catch (e) {
      this.writeFault = e;
      throw new StoreUnavailable(`the store cannot make changes durable now: ${describeFault(e)}`, e);
    }
  }

  /** A fault becomes StoreUnavailable (503) and, for a write, what /readyz reports; anything else stays as it is. */
  private fault(e: unknown, write: boolean): unknown {
    if (!isSqliteFault(e)) return e;
    if (write) {
      this.writeFault = e;
      this.batchFaulted = true;
    }
    return new StoreUnavailable(`the store cannot ${write ? 'save changes' : 'be read'} now: ${describeFault(e)}`, e);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.commits.run(() => fn(sqliteTx(this.q, this.nodes, this.clock.now())));
  }

  now(): Promise<number> {
    return Promise.resolve(this.clock.now());
  }

  getLease(id: string): Promise<Lease | undefined> {
    return this.locked(() => leaseById(this.q, id));
  }

  listLeases(f: LeaseFilter): Promise<Lease[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    for (const k of ['pool', 'issuer', 'subject'] as const) {
      if (f[k] !== undefined) {
        where.push(`${k} = ?`);
        args.push(f[k]);
      }
    }
    const now = f.now ?? this.clock.now();
    if (f.state === 'active') {
      where.push('ended_at IS NULL AND expires_at > ?');
      args.push(now);
    } else if (f.state === 'ended') {
      where.push('(ended_at IS NOT NULL OR expires_at <= ?)');
      args.push(now);
    }
    const sql = `SELECT * FROM leases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY issued_at, id LIMIT 10000`;
    return this.locked(() =>
      this.db
        .prepare<(string | number)[], LeaseRow>(sql)
        .all(...args)
        .map(leaseFromRow),
    );
  }

  listPins(pool?: string): Promise<Mapping[]> {
    return this.locked(() =>
      (pool === undefined ? this.q.allPins.all() : this.q.pinsInPool.all(pool)).map(mappingFromRow),
    );
  }

  listAudit(after: number, limit: number): Promise<AuditEntry[]> {
    return this.locked(() => this.q.listAudit.all(after, limit).map(auditFromRow));
  }

  leaseAt(pool: string, node: number, atMs: number): Promise<Lease | undefined> {
    return this.locked(() => {
      const r = this.q.leaseAt.get(pool, node, atMs, atMs);
      return r ? leaseFromRow(r) : undefined;
    });
  }

  counts(pool: string, now: number): Promise<{ leased: number; pinned: number; pinnedAndLeased: number }> {
    return this.locked(() => ({
      leased: this.q.countLeased.get(pool, now)!.n,
      pinned: this.q.countPinned.get(pool)!.n,
      pinnedAndLeased: this.q.countPinnedLeased.get(pool, now)!.n,
    }));
  }

  calloutUsersOf(leaseIds: readonly string[], liveAfter: number): Promise<string[]> {
    if (leaseIds.length === 0) return Promise.resolve([]);
    return this.locked(() => {
      const out: string[] = [];
      // Chunks well under SQLite's 32,766 bound parameters.
      for (let i = 0; i < leaseIds.length; i += 500) {
        const ids = leaseIds.slice(i, i + 500);
        const rows = this.db
          .prepare<(string | number)[], { public_key: string }>(
            `SELECT public_key FROM callout_users WHERE lease_id IN (${ids.map(() => '?').join(',')}) AND expires_at > ?`,
          )
          .all(...ids, liveAfter);
        for (const r of rows) out.push(r.public_key);
      }
      return out;
    });
  }

  liveCalloutUsers(now: number): Promise<number> {
    return this.locked(() => this.q.liveCalloutUsers.get(now)!.n);
  }

  endedEarlySince(sinceMs: number): Promise<Lease[]> {
    return this.locked(() => this.q.endedEarly.all(sinceMs).map(leaseFromRow));
  }

  /** Pool by pool (see migration 4): the `limit` earliest of each, then the earliest of those. */
  expiredUnended(now: number, limit: number): Promise<Lease[]> {
    return this.locked(() =>
      this.q.unendedPools
        .all()
        .flatMap(({ pool }) => this.q.expiredIn(limit).all(pool, now))
        .sort((a, b) => a.expires_at - b.expires_at)
        .slice(0, limit)
        .map(leaseFromRow),
    );
  }

  /**
   * Readable, and writable again if the last write failed: the lock can be taken, and after a full
   * disk (or size cap) there is room for a grant.
   */
  ping(): Promise<void> {
    return this.locked(() => {
      this.db.prepare('SELECT 1').get();
      if (this.writeFault === undefined) return;
      const still = (why: string) => new Error(`the last write failed (${describeFault(this.writeFault)}); ${why}`);
      try {
        this.db.exec('BEGIN IMMEDIATE');
        this.db.exec('ROLLBACK');
      } catch (e) {
        throw still(`still cannot write: ${describeFault(e)}`);
      }
      const pages = (name: string) => Number(this.db.pragma(name, { simple: true }));
      const roomPages = pages('max_page_count') - pages('page_count') + pages('freelist_count');
      if (roomPages < HEADROOM_PAGES) throw still(`the database is at its max_page_count`);
      if (this.file !== ':memory:') {
        const fs = statfsSync(path.dirname(this.file));
        if (fs.bavail * fs.bsize < HEADROOM_BYTES) throw still(`the disk holding it has less than 1 MiB free`);
      }
      this.writeFault = undefined;
    });
  }

  /** Copies the WAL into the database now, between units. */
  checkpoint(): Promise<CheckpointResult | undefined> {
    return this.checkpoints?.checkpoint() ?? Promise.resolve(undefined);
  }

  async close(): Promise<void> {
    await this.checkpoints?.close();
    return this.mutex.run(async () => {
      await this.wal?.close();
      this.db.close();
    });
  }
}
