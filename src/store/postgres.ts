/**
 * The PostgreSQL store, for several registry replicas sharing one database. The database's clock
 * is the store's clock (every replica reads `now` from it). Units of all replicas run concurrently,
 * each one transaction; postgres-tx.ts says what they lock and why.
 */
import pg from 'pg';
import type { Clock } from '../clock.js';
import type { NatsStateStore } from '../nats/state.js';
import type { AuditEntry, Lease, Mapping } from '../registry/types.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { describeFault, isPgConflict, isPgConnectionFault, isPgStalePlan, StoreUnavailable } from './faults.js';
import type { LeaseFilter, Store, StoreTx, UnitOpening } from './port.js';
import { sealAudit } from './postgres-audit.js';
import { NOW_MS, prepareScripted, script } from './postgres-sql.js';
import { openingStatements, UNIT_NOW } from './postgres-statements.js';
import { pgUnit } from './postgres-tx.js';
import { auditFromRow, leaseFromRow, mappingFromRow, type AuditRow, type LeaseRow, type MappingRow } from './rows.js';

// Arbitrary but fixed: the advisory lock key migrations take (units take theirs in postgres-tx.ts).
const MIGRATE_LOCK = 0x6d696772; // "migr"

type Queryable = pg.Pool | pg.PoolClient;

async function rows<R extends pg.QueryResultRow>(db: Queryable, sql: string, args: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(sql, args)).rows;
}

/**
 * A client checked out of the pool, with the error path `pg` requires: a checked-out client whose
 * socket dies emits 'error', and with no listener that kills the process. A broken client is
 * destroyed on release instead of going back to the pool.
 */
async function checkOut(
  pool: pg.Pool,
): Promise<{ c: pg.PoolClient; broken(): unknown; discard(e: unknown): void; release(): void }> {
  const c = await pool.connect();
  let fault: unknown;
  const onError = (e: unknown) => {
    fault ??= e;
  };
  c.on('error', onError);
  return {
    c,
    broken: () => fault,
    discard: onError,
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
/** A unit that met a plan made before a schema change runs again on a fresh connection, once. */
const STALE_PLAN_RETRIES = 1;

export class PostgresStore implements Store {
  readonly natsState: NatsStateStore;
  /** Bumped when a stale plan is seen: connections first used in an earlier generation are dropped. */
  private planGeneration = 0;
  private readonly preparedIn = new WeakMap<pg.PoolClient, number>();

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
      version: async () => {
        const [r] = await this.read<{ version: string }>('SELECT version FROM nats_state WHERE id = 1');
        return r ? Number(r.version) : 0;
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
      // A server that does not answer (or a pool queue that does not move) is a fault to report,
      // not a request to hang on forever; long enough for a burst to queue behind ten connections.
      connectionTimeoutMillis: 15_000,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    // Nor one losing it in the very read that completed its connection: pg-pool has dropped its
    // idle listener then and the caller has not attached one yet. Faults are seen by the caller's
    // own listener and queries; this one only keeps the 'error' event from being unhandled.
    pool.on('connect', (client) => client.on('error', () => undefined));
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
  async transaction<T>(fn: (tx: StoreTx) => Promise<T>, opening?: UnitOpening): Promise<T> {
    let connectionFaults = 0;
    let conflicts = 0;
    let stalePlans = 0;
    for (;;) {
      const r = await this.attempt(fn, opening);
      if (r.ok) return r.value;
      if (!r.retry) throw r.error;
      if (isPgStalePlan(r.error) && ++stalePlans <= STALE_PLAN_RETRIES) continue;
      const conflict = isPgConflict(r.error);
      if (conflict ? ++conflicts > CONFLICT_RETRIES : ++connectionFaults > CONNECTION_RETRIES) {
        if (conflict && (r.error as { code?: string }).code === '23505') throw r.error;
        throw new StoreUnavailable(`the store could not complete the change: ${describeFault(r.error)}`, r.error);
      }
    }
  }

  private async attempt<T>(fn: (tx: StoreTx) => Promise<T>, opening?: UnitOpening): Promise<Attempt<T>> {
    let client;
    try {
      client = await this.checkOutCurrent();
    } catch (e) {
      if (isPgConnectionFault(e)) return { ok: false, error: e, retry: true };
      throw e;
    }
    const { c } = client;
    try {
      await prepareScripted(c);
    } catch (e) {
      // It may hold some of the statements now: never used again (postgres-sql.ts).
      client.discard(e);
      client.release();
      if (isPgConnectionFault(e)) return { ok: false, error: e, retry: true };
      throw e;
    }
    let committing = false;
    try {
      // BEGIN, the unit's clock and its opening reads in one round trip (postgres-sql.ts).
      const fixedNow = this.clock?.now();
      const opens = openingStatements(opening, fixedNow);
      const begun = await script(c, ['BEGIN', ...(fixedNow === undefined ? [UNIT_NOW.call([])] : []), ...opens]);
      const now = fixedNow ?? Number((begun[1]!.rows[0] as { now: string }).now);
      const unit = pgUnit(c, now, opening && { opening, results: begun.slice(begun.length - opens.length) });
      const value = await fn(unit.tx);
      committing = true;
      await unit.commit();
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
      if (isPgStalePlan(e)) {
        // Every connection that prepared its statements before this one's schema change goes.
        this.planGeneration = Math.max(this.planGeneration, (this.preparedIn.get(c) ?? 0) + 1);
        client.discard(e);
        return { ok: false, error: e, retry: true };
      }
      throw e;
    } finally {
      client.release();
    }
  }

  /**
   * A connection whose prepared statements can still fit the schema: one that prepared them
   * before a stale plan was seen is discarded (each would fail once otherwise).
   */
  private async checkOutCurrent(): Promise<Awaited<ReturnType<typeof checkOut>>> {
    for (;;) {
      const client = await checkOut(this.pool);
      const born = this.preparedIn.get(client.c);
      if (born === undefined) this.preparedIn.set(client.c, this.planGeneration);
      if (born === undefined || born >= this.planGeneration) return client;
      client.discard(new Error('its prepared statements predate a schema change'));
      client.release();
    }
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
    await this.retried(() => sealAudit(this.pool, limit));
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

  async calloutUsersOf(leaseIds: readonly string[], liveAfter: number): Promise<string[]> {
    if (leaseIds.length === 0) return [];
    const rows = await this.read<{ public_key: string }>(
      'SELECT public_key FROM callout_users WHERE lease_id = ANY($1) AND expires_at > $2',
      [leaseIds, liveAfter],
    );
    return rows.map((r) => r.public_key);
  }

  async liveCalloutUsers(now: number): Promise<number> {
    const [r] = await this.read<{ n: string }>(
      `SELECT COUNT(*) AS n FROM callout_users c JOIN leases l ON l.id = c.lease_id
       WHERE c.expires_at > $1 AND l.ended_at IS NULL`,
      [now],
    );
    return Number(r!.n);
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
  private read<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<R[]> {
    return this.retried(() => rows<R>(this.pool, sql, args));
  }

  /** Runs `op` once more when the connection failed, else 503: for reads, and seals (a lost one changed nothing a retry cannot redo). */
  private async retried<T>(op: () => Promise<T>, retries = 1): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (!isPgConnectionFault(e)) throw e;
      if (retries > 0) return this.retried(op, retries - 1);
      throw new StoreUnavailable(`the store cannot be reached: ${describeFault(e)}`, e);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
