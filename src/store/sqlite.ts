/**
 * The embedded default store: SQLite through better-sqlite3, in WAL mode with synchronous=FULL so a
 * grant the client was told about survives a crash of the process or the machine. One process owns
 * the file; its clock is the store's clock.
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { NatsStateStore } from '../nats/state.js';
import { preparePrivateFile } from './private-file.js';
import type { AuditEntry, EndReason, Lease, Mapping, Principal } from '../registry/types.js';
import { describeFault, isSqliteFault, StoreUnavailable } from './faults.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { Mutex } from './mutex.js';
import type { LeaseFilter, NewAuditEntry, NodeState, PoolView, Store, StoreTx } from './port.js';
import {
  auditFromRow,
  leaseFromRow,
  leaseToRow,
  mappingFromRow,
  type AuditRow,
  type LeaseRow,
  type MappingRow,
} from './rows.js';

interface NodeRow {
  node: number;
  generation: number;
  last_end: number | null;
  last_issuer: string | null;
  last_subject: string | null;
}

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
  private readonly q;
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
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma(`busy_timeout = ${Math.floor(options.busyTimeoutMs ?? 5000)}`);
    this.db.pragma('foreign_keys = ON');
    if (options.maxPageCount !== undefined) this.db.pragma(`max_page_count = ${Math.floor(options.maxPageCount)}`);
    migrate(this.db);
    const db = this.db;
    this.q = {
      lease: db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE id = ?'),
      activeInPool: db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE pool = ? AND ended_at IS NULL'),
      activeOf: db.prepare<[string, string], LeaseRow>(
        'SELECT * FROM leases WHERE issuer = ? AND subject = ? AND ended_at IS NULL',
      ),
      pinsInPool: db.prepare<[string], MappingRow>('SELECT * FROM mappings WHERE pool = ? ORDER BY node'),
      allPins: db.prepare<[], MappingRow>('SELECT * FROM mappings ORDER BY pool, node'),
      pin: db.prepare<[string, number], MappingRow>('SELECT * FROM mappings WHERE pool = ? AND node = ?'),
      nodes: db.prepare<[string], NodeRow>(
        'SELECT node, generation, last_end, last_issuer, last_subject FROM nodes WHERE pool = ?',
      ),
      insertLease: db.prepare<LeaseRow>(
        `INSERT INTO leases (id, pool, node, generation, issuer, subject, instance, issued_at, expires_at, not_before,
           nats_public_key, ended_at, end_reason)
         VALUES (@id, @pool, @node, @generation, @issuer, @subject, @instance, @issued_at, @expires_at, @not_before,
           @nats_public_key, @ended_at, @end_reason)`,
      ),
      upsertNode: db.prepare<[string, number, number, string, string]>(
        `INSERT INTO nodes (pool, node, generation, last_issuer, last_subject) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (pool, node) DO UPDATE SET generation = excluded.generation,
           last_issuer = excluded.last_issuer, last_subject = excluded.last_subject`,
      ),
      setExpiry: db.prepare<[number, string]>('UPDATE leases SET expires_at = ? WHERE id = ? AND ended_at IS NULL'),
      endLease: db.prepare<[number, string, string]>(
        'UPDATE leases SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL',
      ),
      raiseLastEnd: db.prepare<[number, number, string, number]>(
        'UPDATE nodes SET last_end = MAX(COALESCE(last_end, ?), ?) WHERE pool = ? AND node = ?',
      ),
      putPin: db.prepare<MappingRow>(
        `INSERT INTO mappings (pool, node, issuer, subject, note, created_at, created_by)
         VALUES (@pool, @node, @issuer, @subject, @note, @created_at, @created_by)
         ON CONFLICT (pool, node) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
           note = excluded.note, created_at = excluded.created_at, created_by = excluded.created_by`,
      ),
      deletePin: db.prepare<[string, number]>('DELETE FROM mappings WHERE pool = ? AND node = ?'),
      audit: db.prepare<[number, string, string, string | null, number | null, string | null, string]>(
        'INSERT INTO audit (at, actor, action, pool, node, lease_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      listAudit: db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?'),
      leaseAt: db.prepare<[string, number, number, number], LeaseRow>(
        `SELECT * FROM leases WHERE pool = ? AND node = ? AND not_before < ? AND expires_at >= ?
         ORDER BY generation DESC LIMIT 1`,
      ),
      countLeased: db.prepare<[string, number], { n: number }>(
        'SELECT COUNT(*) AS n FROM leases WHERE pool = ? AND ended_at IS NULL AND expires_at > ?',
      ),
      countPinned: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM mappings WHERE pool = ?'),
      countPinnedLeased: db.prepare<[string, number], { n: number }>(
        `SELECT COUNT(*) AS n FROM mappings m JOIN leases l ON l.pool = m.pool AND l.node = m.node
         WHERE m.pool = ? AND l.ended_at IS NULL AND l.expires_at > ?`,
      ),
      expired: db.prepare<[number, number], LeaseRow>(
        'SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?',
      ),
      endedEarly: db.prepare<[number], LeaseRow>(
        "SELECT * FROM leases WHERE ended_at >= ? AND end_reason <> 'expired' ORDER BY ended_at",
      ),
      natsKeyUsed: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM leases WHERE nats_public_key = ?'),
      natsLoad: db.prepare<[], { version: number; data: string }>('SELECT version, data FROM nats_state WHERE id = 1'),
      natsInsert: db.prepare<[number, string]>('INSERT OR IGNORE INTO nats_state (id, version, data) VALUES (1, ?, ?)'),
      natsUpdate: db.prepare<[number, string, number]>(
        'UPDATE nats_state SET version = ?, data = ? WHERE id = 1 AND version = ?',
      ),
    };
    this.natsState = {
      load: () => this.locked(() => this.q.natsLoad.get()),
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

  /** A single-statement write under the mutex, recorded for /readyz like a unit. */
  private writing<T>(fn: () => T): Promise<T> {
    return this.mutex.run(() => {
      try {
        const r = fn();
        this.writeFault = undefined;
        return Promise.resolve(r);
      } catch (e) {
        throw this.fault(e, true);
      }
    });
  }

  /** A fault becomes StoreUnavailable (503) and, for a write, what /readyz reports; anything else stays as it is. */
  private fault(e: unknown, write: boolean): unknown {
    if (!isSqliteFault(e)) return e;
    if (write) this.writeFault = e;
    return new StoreUnavailable(`the store cannot ${write ? 'save changes' : 'be read'} now: ${describeFault(e)}`, e);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const tx = this.makeTx(this.clock.now());
      try {
        this.db.exec('BEGIN IMMEDIATE');
        const result = await fn(tx);
        this.db.exec('COMMIT');
        this.writeFault = undefined;
        return result;
      } catch (e) {
        // SQLite may have rolled back already (a full disk, an I/O error); a failed COMMIT leaves it open.
        if (this.db.inTransaction) {
          try {
            this.db.exec('ROLLBACK');
          } catch {
            // The connection rolls back on its own once it can; nothing was committed either way.
          }
        }
        throw this.fault(e, true);
      }
    });
  }

  private makeTx(now: number): StoreTx {
    const q = this.q;
    return {
      now: () => now,
      poolView: async (pool): Promise<PoolView> => {
        const nodes = new Map<number, NodeState>();
        for (const r of q.nodes.all(pool)) {
          nodes.set(Number(r.node), {
            node: Number(r.node),
            generation: Number(r.generation),
            ...(r.last_end !== null ? { lastEnd: Number(r.last_end) } : {}),
            ...(r.last_issuer !== null && r.last_subject !== null
              ? { lastPrincipal: { issuer: r.last_issuer, subject: r.last_subject } }
              : {}),
          });
        }
        return Promise.resolve({
          active: q.activeInPool.all(pool).map(leaseFromRow),
          pins: q.pinsInPool.all(pool).map(mappingFromRow),
          nodes,
        });
      },
      getLease: async (id) => Promise.resolve(this.leaseById(id)),
      natsKeyUsed: async (key) => Promise.resolve(q.natsKeyUsed.get(key)!.n > 0),
      activeLeasesOf: async (p: Principal) => Promise.resolve(q.activeOf.all(p.issuer, p.subject).map(leaseFromRow)),
      insertLease: async (l: Lease) => {
        q.insertLease.run(leaseToRow(l));
        q.upsertNode.run(l.pool, l.node, l.generation, l.principal.issuer, l.principal.subject);
        return Promise.resolve();
      },
      setExpiry: async (id, expiresAt) => {
        q.setExpiry.run(expiresAt, id);
        return Promise.resolve();
      },
      endLease: async (l: Lease, endedAt: number, reason: EndReason, floorEnd: number) => {
        q.endLease.run(endedAt, reason, l.id);
        q.raiseLastEnd.run(floorEnd, floorEnd, l.pool, l.node);
        return Promise.resolve();
      },
      getPin: async (pool, node) => {
        const r = q.pin.get(pool, node);
        return Promise.resolve(r ? mappingFromRow(r) : undefined);
      },
      putPin: async (m: Mapping) => {
        q.putPin.run({
          pool: m.pool,
          node: m.node,
          issuer: m.principal.issuer,
          subject: m.principal.subject,
          note: m.note ?? null,
          created_at: m.createdAt,
          created_by: m.createdBy,
        });
        return Promise.resolve();
      },
      deletePin: async (pool, node) => Promise.resolve(q.deletePin.run(pool, node).changes > 0),
      audit: async (e: NewAuditEntry) => {
        q.audit.run(
          e.at,
          e.actor,
          e.action,
          e.pool ?? null,
          e.node ?? null,
          e.leaseId ?? null,
          JSON.stringify(e.detail),
        );
        return Promise.resolve();
      },
    };
  }

  private leaseById(id: string): Lease | undefined {
    const r = this.q.lease.get(id);
    return r ? leaseFromRow(r) : undefined;
  }

  now(): Promise<number> {
    return Promise.resolve(this.clock.now());
  }

  getLease(id: string): Promise<Lease | undefined> {
    return this.locked(() => this.leaseById(id));
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

  endedEarlySince(sinceMs: number): Promise<Lease[]> {
    return this.locked(() => this.q.endedEarly.all(sinceMs).map(leaseFromRow));
  }

  expiredUnended(now: number, limit: number): Promise<Lease[]> {
    return this.locked(() => this.q.expired.all(now, limit).map(leaseFromRow));
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

  close(): Promise<void> {
    return this.mutex.run(() => {
      this.db.close();
      return Promise.resolve();
    });
  }
}
