/**
 * The PostgreSQL store, for several registry replicas sharing one database. The database's clock
 * is the store's clock (every replica reads `now` from it), and write units are serialized across
 * replicas with a transaction-scoped advisory lock: simple, and a grant is a handful of statements.
 */
import pg from 'pg';
import type { Clock } from '../clock.js';
import type { NatsStateStore } from '../nats/state.js';
import type { AuditEntry, EndReason, Lease, Mapping, Principal } from '../registry/types.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { describeFault, isPgConflict, isPgConnectionFault, StoreUnavailable } from './faults.js';
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

/**
 * A client checked out of the pool, with the error path `pg` requires: a checked-out client whose
 * socket dies emits 'error', and with no listener that kills the process. A broken client is
 * destroyed on release instead of going back to the pool.
 */
async function checkOut(pool: pg.Pool): Promise<{ c: pg.PoolClient; broken(): unknown; release(): void }> {
  const c = await pool.connect();
  let fault: unknown;
  const onError = (e: unknown) => {
    fault ??= e;
  };
  c.on('error', onError);
  return {
    c,
    broken: () => fault,
    release: () => {
      c.removeListener('error', onError);
      // pg-pool forgets a client released with an error; a healthy one goes back to the pool.
      c.release(fault !== undefined ? (fault as Error) : undefined);
    },
  };
}

export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await checkOut(pool);
  const { c } = client;
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
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    }
  } finally {
    if (client.broken() === undefined)
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => undefined);
    client.release();
  }
}

/** How a unit attempt ended: its value, or an error and whether running it again is safe. */
type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown; retry: boolean };

/** A unit whose connection failed before COMMIT never committed: run it once more. */
const CONNECTION_RETRIES = 1;
/** A unit that lost a race was rolled back: run it again, a few times. */
const CONFLICT_RETRIES = 3;

export class PostgresStore implements Store {
  readonly natsState: NatsStateStore;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock | undefined,
  ) {
    this.natsState = {
      load: async () => {
        const [r] = await this.read<{ version: string; data: string }>(
          'SELECT version, data FROM nats_state WHERE id = 1',
        );
        return r && { version: Number(r.version), data: r.data };
      },
      save: async (expectedVersion, data) => {
        try {
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
        } catch (e) {
          // Not run again: a compare-and-set whose answer was lost may have landed; the caller reloads.
          if (isPgConnectionFault(e)) throw new StoreUnavailable(`the store cannot be reached: ${describeFault(e)}`, e);
          throw e;
        }
      },
    };
  }

  /**
   * `clock` replaces the database's clock: for tests that move time by hand, never for replicas,
   * which must share the database's `now()`.
   */
  static async open(url: string, options: { clock?: Clock } = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      // A server that does not answer is a fault to report, not a request to hang on forever.
      connectionTimeoutMillis: 5000,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      await migratePostgres(pool);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return new PostgresStore(pool, options.clock);
  }

  /**
   * Runs `fn` in one transaction. A unit whose connection dies before COMMIT is run once more on a
   * fresh connection (it never committed), one that lost a race a few times; when the outcome of a
   * COMMIT is unknown, or the server stays unreachable, it fails with StoreUnavailable (503).
   */
  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    let connectionFaults = 0;
    let conflicts = 0;
    for (;;) {
      const r = await this.attempt(fn);
      if (r.ok) return r.value;
      if (!r.retry) throw r.error;
      const conflict = isPgConflict(r.error);
      if (conflict ? ++conflicts > CONFLICT_RETRIES : ++connectionFaults > CONNECTION_RETRIES) {
        if (conflict && (r.error as { code?: string }).code === '23505') throw r.error;
        throw new StoreUnavailable(`the store could not complete the change: ${describeFault(r.error)}`, r.error);
      }
    }
  }

  private async attempt<T>(fn: (tx: StoreTx) => Promise<T>): Promise<Attempt<T>> {
    let client;
    try {
      client = await checkOut(this.pool);
    } catch (e) {
      if (isPgConnectionFault(e)) return { ok: false, error: e, retry: true };
      throw e;
    }
    const { c } = client;
    let committing = false;
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const now = this.clock?.now() ?? Number((await rows<{ now: string }>(c, `SELECT ${NOW_MS} AS now`))[0]!.now);
      const value = await fn(this.makeTx(c, now));
      committing = true;
      await c.query('COMMIT');
      return { ok: true, value };
    } catch (e) {
      const lost = client.broken() ?? (isPgConnectionFault(e) ? e : undefined);
      if (lost === undefined) await c.query('ROLLBACK').catch(() => undefined);
      if (lost !== undefined) {
        if (committing) {
          throw new StoreUnavailable(
            `the store connection failed during COMMIT; the change may or may not have been saved: ${describeFault(lost)}`,
            lost,
          );
        }
        return { ok: false, error: lost, retry: true };
      }
      if (isPgConflict(e)) return { ok: false, error: e, retry: true };
      throw e;
    } finally {
      client.release();
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
    if (this.clock) return this.clock.now();
    const [r] = await this.read<{ now: string }>(`SELECT ${NOW_MS} AS now`);
    return Number(r!.now);
  }

  async getLease(id: string): Promise<Lease | undefined> {
    const [r] = await this.read<LeaseRow>('SELECT * FROM leases WHERE id = $1', [id]);
    return r ? leaseFromRow(r) : undefined;
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
    return (await this.read<LeaseRow>(sql, args)).map(leaseFromRow);
  }

  async listPins(pool?: string): Promise<Mapping[]> {
    const r =
      pool === undefined
        ? await this.read<MappingRow>('SELECT * FROM mappings ORDER BY pool, node')
        : await this.read<MappingRow>('SELECT * FROM mappings WHERE pool = $1 ORDER BY node', [pool]);
    return r.map(mappingFromRow);
  }

  async listAudit(after: number, limit: number): Promise<AuditEntry[]> {
    return (await this.read<AuditRow>('SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2', [after, limit])).map(
      auditFromRow,
    );
  }

  async leaseAt(pool: string, node: number, atMs: number): Promise<Lease | undefined> {
    const [r] = await this.read<LeaseRow>(
      `SELECT * FROM leases WHERE pool = $1 AND node = $2 AND not_before < $3 AND expires_at >= $3
       ORDER BY generation DESC LIMIT 1`,
      [pool, node, atMs],
    );
    return r ? leaseFromRow(r) : undefined;
  }

  async counts(pool: string, now: number): Promise<{ leased: number; pinned: number; pinnedAndLeased: number }> {
    const [r] = await this.read<{ leased: string; pinned: string; pinned_leased: string }>(
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
    return (await this.read<LeaseRow>(sql, [sinceMs])).map(leaseFromRow);
  }

  async expiredUnended(now: number, limit: number): Promise<Lease[]> {
    return (
      await this.read<LeaseRow>(
        'SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2',
        [now, limit],
      )
    ).map(leaseFromRow);
  }

  async ping(): Promise<void> {
    try {
      await this.read('SELECT 1');
    } catch (e) {
      // /readyz answers anyone: name the kind of fault, never the database's address.
      const cause = e instanceof StoreUnavailable ? e.cause : e;
      const code = (cause as { code?: unknown } | null)?.code;
      throw new Error(`the store cannot be reached${typeof code === 'string' ? ` (${code})` : ''}`, { cause: e });
    }
  }

  /** A query outside any unit: run once more when the connection failed (reads change nothing), else 503. */
  private async read<R extends pg.QueryResultRow>(sql: string, args: unknown[] = [], retries = 1): Promise<R[]> {
    try {
      return await rows<R>(this.pool, sql, args);
    } catch (e) {
      if (!isPgConnectionFault(e)) throw e;
      if (retries > 0) return this.read<R>(sql, args, retries - 1);
      throw new StoreUnavailable(`the store cannot be reached: ${describeFault(e)}`, e);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
