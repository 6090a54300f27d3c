/**
 * The PostgreSQL store, for several registry replicas sharing one database. The database's clock
 * is the store's clock (every replica reads `now` from it), and write units are serialized across
 * replicas with a transaction-scoped advisory lock: simple, and a grant is a handful of statements.
 */
import pg from 'pg';
import type { NatsStateStore } from '../nats/state.js';
import type { AuditEntry, EndReason, Lease, Mapping, Principal } from '../registry/types.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
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

// Arbitrary but fixed: the advisory lock keys snowgate takes.
const WRITE_LOCK = 0x736e6f77; // "snow"
const MIGRATE_LOCK = 0x6d696772; // "migr"
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

type Queryable = pg.Pool | pg.PoolClient;

async function rows<R extends pg.QueryResultRow>(db: Queryable, sql: string, args: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(sql, args)).rows;
}

export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const done = new Set(
      (await rows<{ version: number }>(c, 'SELECT version FROM schema_migrations')).map((r) => r.version),
    );
    for (const m of POSTGRES_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await c.query('BEGIN');
      try {
        await c.query(m.sql);
        await c.query(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, ${NOW_MS})`, [m.version]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK');
        throw e;
      }
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => undefined);
    c.release();
  }
}

export class PostgresStore implements Store {
  readonly natsState: NatsStateStore;

  private constructor(private readonly pool: pg.Pool) {
    this.natsState = {
      load: async () => {
        const [r] = await rows<{ version: string; data: string }>(
          pool,
          'SELECT version, data FROM nats_state WHERE id = 1',
        );
        return r && { version: Number(r.version), data: r.data };
      },
      save: async (expectedVersion, data) => {
        const r =
          expectedVersion === 0
            ? await pool.query(
                'INSERT INTO nats_state (id, version, data) VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING',
                [data],
              )
            : await pool.query('UPDATE nats_state SET version = $1, data = $2 WHERE id = 1 AND version = $3', [
                expectedVersion + 1,
                data,
                expectedVersion,
              ]);
        return r.rowCount === 1;
      },
    };
  }

  static async open(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    await migratePostgres(pool);
    return new PostgresStore(pool);
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const [{ now }] = (await rows<{ now: string }>(c, `SELECT ${NOW_MS} AS now`)) as [{ now: string }];
      const result = await fn(this.makeTx(c, Number(now)));
      await c.query('COMMIT');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  private makeTx(c: pg.PoolClient, now: number): StoreTx {
    return {
      now: () => now,
      poolView: async (pool): Promise<PoolView> => {
        const nodes = new Map<number, NodeState>();
        const nodeRows = await rows<{
          node: number;
          generation: number;
          last_end: string | null;
          last_issuer: string | null;
          last_subject: string | null;
        }>(c, 'SELECT node, generation, last_end, last_issuer, last_subject FROM nodes WHERE pool = $1', [pool]);
        for (const r of nodeRows) {
          nodes.set(r.node, {
            node: r.node,
            generation: r.generation,
            ...(r.last_end !== null ? { lastEnd: Number(r.last_end) } : {}),
            ...(r.last_issuer !== null && r.last_subject !== null
              ? { lastPrincipal: { issuer: r.last_issuer, subject: r.last_subject } }
              : {}),
          });
        }
        return {
          active: (await rows<LeaseRow>(c, 'SELECT * FROM leases WHERE pool = $1 AND ended_at IS NULL', [pool])).map(
            leaseFromRow,
          ),
          pins: (await rows<MappingRow>(c, 'SELECT * FROM mappings WHERE pool = $1 ORDER BY node', [pool])).map(
            mappingFromRow,
          ),
          nodes,
        };
      },
      getLease: async (id) => this.leaseById(c, id),
      natsKeyUsed: async (key) =>
        (await rows(c, 'SELECT 1 FROM leases WHERE nats_public_key = $1 LIMIT 1', [key])).length > 0,
      activeLeasesOf: async (p: Principal) =>
        (
          await rows<LeaseRow>(c, 'SELECT * FROM leases WHERE issuer = $1 AND subject = $2 AND ended_at IS NULL', [
            p.issuer,
            p.subject,
          ])
        ).map(leaseFromRow),
      insertLease: async (l: Lease) => {
        const r = leaseToRow(l);
        await c.query(
          `INSERT INTO leases (id, pool, node, generation, issuer, subject, instance, issued_at, expires_at, not_before,
             nats_public_key, ended_at, end_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            r.id,
            r.pool,
            r.node,
            r.generation,
            r.issuer,
            r.subject,
            r.instance,
            r.issued_at,
            r.expires_at,
            r.not_before,
            r.nats_public_key,
            r.ended_at,
            r.end_reason,
          ],
        );
        await c.query(
          `INSERT INTO nodes (pool, node, generation, last_issuer, last_subject) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (pool, node) DO UPDATE SET generation = excluded.generation,
             last_issuer = excluded.last_issuer, last_subject = excluded.last_subject`,
          [l.pool, l.node, l.generation, l.principal.issuer, l.principal.subject],
        );
      },
      setExpiry: async (id, expiresAt) => {
        await c.query('UPDATE leases SET expires_at = $1 WHERE id = $2 AND ended_at IS NULL', [expiresAt, id]);
      },
      endLease: async (l: Lease, endedAt: number, reason: EndReason, floorEnd: number) => {
        await c.query('UPDATE leases SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL', [
          endedAt,
          reason,
          l.id,
        ]);
        await c.query(
          'UPDATE nodes SET last_end = GREATEST(COALESCE(last_end, $1), $1) WHERE pool = $2 AND node = $3',
          [floorEnd, l.pool, l.node],
        );
      },
      getPin: async (pool, node) => {
        const [r] = await rows<MappingRow>(c, 'SELECT * FROM mappings WHERE pool = $1 AND node = $2', [pool, node]);
        return r ? mappingFromRow(r) : undefined;
      },
      putPin: async (m: Mapping) => {
        await c.query(
          `INSERT INTO mappings (pool, node, issuer, subject, note, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (pool, node) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
             note = excluded.note, created_at = excluded.created_at, created_by = excluded.created_by`,
          [m.pool, m.node, m.principal.issuer, m.principal.subject, m.note ?? null, m.createdAt, m.createdBy],
        );
      },
      deletePin: async (pool, node) =>
        ((await c.query('DELETE FROM mappings WHERE pool = $1 AND node = $2', [pool, node])).rowCount ?? 0) > 0,
      audit: async (e: NewAuditEntry) => {
        await c.query(
          'INSERT INTO audit (at, actor, action, pool, node, lease_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [e.at, e.actor, e.action, e.pool ?? null, e.node ?? null, e.leaseId ?? null, JSON.stringify(e.detail)],
        );
      },
    };
  }

  private async leaseById(db: Queryable, id: string): Promise<Lease | undefined> {
    const [r] = await rows<LeaseRow>(db, 'SELECT * FROM leases WHERE id = $1', [id]);
    return r ? leaseFromRow(r) : undefined;
  }

  async now(): Promise<number> {
    const [r] = await rows<{ now: string }>(this.pool, `SELECT ${NOW_MS} AS now`);
    return Number(r!.now);
  }

  getLease(id: string): Promise<Lease | undefined> {
    return this.leaseById(this.pool, id);
  }

  async listLeases(f: LeaseFilter): Promise<Lease[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    for (const k of ['pool', 'issuer', 'subject'] as const) if (f[k] !== undefined) where.push(`${k} = ${arg(f[k])}`);
    const now = f.now ?? (await this.now());
    if (f.state === 'active') where.push(`ended_at IS NULL AND expires_at > ${arg(now)}`);
    else if (f.state === 'ended') where.push(`(ended_at IS NOT NULL OR expires_at <= ${arg(now)})`);
    const sql = `SELECT * FROM leases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY issued_at, id LIMIT 10000`;
    return (await rows<LeaseRow>(this.pool, sql, args)).map(leaseFromRow);
  }

  async listPins(pool?: string): Promise<Mapping[]> {
    const r =
      pool === undefined
        ? await rows<MappingRow>(this.pool, 'SELECT * FROM mappings ORDER BY pool, node')
        : await rows<MappingRow>(this.pool, 'SELECT * FROM mappings WHERE pool = $1 ORDER BY node', [pool]);
    return r.map(mappingFromRow);
  }

  async listAudit(after: number, limit: number): Promise<AuditEntry[]> {
    return (
      await rows<AuditRow>(this.pool, 'SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2', [after, limit])
    ).map(auditFromRow);
  }

  async leaseAt(pool: string, node: number, atMs: number): Promise<Lease | undefined> {
    const [r] = await rows<LeaseRow>(
      this.pool,
      `SELECT * FROM leases WHERE pool = $1 AND node = $2 AND not_before < $3 AND expires_at >= $3
       ORDER BY generation DESC LIMIT 1`,
      [pool, node, atMs],
    );
    return r ? leaseFromRow(r) : undefined;
  }

  async counts(pool: string, now: number): Promise<{ leased: number; pinned: number; pinnedAndLeased: number }> {
    const [r] = await rows<{ leased: string; pinned: string; pinned_leased: string }>(
      this.pool,
      `SELECT
         (SELECT COUNT(*) FROM leases WHERE pool = $1 AND ended_at IS NULL AND expires_at > $2) AS leased,
         (SELECT COUNT(*) FROM mappings WHERE pool = $1) AS pinned,
         (SELECT COUNT(*) FROM mappings m JOIN leases l ON l.pool = m.pool AND l.node = m.node
            WHERE m.pool = $1 AND l.ended_at IS NULL AND l.expires_at > $2) AS pinned_leased`,
      [pool, now],
    );
    return { leased: Number(r!.leased), pinned: Number(r!.pinned), pinnedAndLeased: Number(r!.pinned_leased) };
  }

  async endedEarlySince(sinceMs: number): Promise<Lease[]> {
    const sql = "SELECT * FROM leases WHERE ended_at >= $1 AND end_reason <> 'expired' ORDER BY ended_at";
    return (await rows<LeaseRow>(this.pool, sql, [sinceMs])).map(leaseFromRow);
  }

  async expiredUnended(now: number, limit: number): Promise<Lease[]> {
    return (
      await rows<LeaseRow>(
        this.pool,
        'SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2',
        [now, limit],
      )
    ).map(leaseFromRow);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
