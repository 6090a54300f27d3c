/** The SQLite store's prepared statements: each an indexed lookup or a change of a row or two. */
import type Database from 'better-sqlite3';
import type { NodeRanges } from '../snowflake/layout.js';
import { CALLOUT_PRUNE_BATCH } from './port.js';
import type { AuditRow, LeaseRow, MappingRow, NodeRow } from './rows.js';

export type Statements = ReturnType<typeof prepareStatements>;

/** The part of a better-sqlite3 statement the store uses, under a name its declarations can carry. */
export interface Stmt<P extends unknown[], R> {
  get(...params: P): R | undefined;
  all(...params: P): R[];
  run(...params: P): Database.RunResult;
}

function prep<P extends unknown[] = unknown[], R = unknown>(db: Database.Database, sql: string): Stmt<P, R> {
  return db.prepare<P, R>(sql);
}
export type AllocationStatements = ReturnType<typeof prepareAllocation>;

/**
 * A statement whose LIMIT is written in rather than bound, prepared once per limit. SQLite plans
 * with a bound LIMIT's value, so binding one marks the statement stale and every run re-parses
 * and re-plans it (it cost four times the lookup itself on the grant path).
 */
function limited<P extends unknown[], R>(db: Database.Database, sql: string): (limit: number) => Stmt<P, R> {
  const byLimit = new Map<number, Stmt<P, R>>();
  return (limit) => {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`LIMIT ${limit}: not a count`);
    let s = byLimit.get(limit);
    if (!s) byLimit.set(limit, (s = prep<P, R>(db, `${sql} LIMIT ${limit}`)));
    return s;
  };
}

export function prepareStatements(db: Database.Database) {
  return {
    lease: prep<[string], LeaseRow>(db, 'SELECT * FROM leases WHERE id = ?'),
    activeOf: prep<[string, string], LeaseRow>(
      db,
      'SELECT * FROM leases WHERE issuer = ? AND subject = ? AND ended_at IS NULL',
    ),
    activeOfInPool: prep<[string, string, string], LeaseRow>(
      db,
      // `+pool`: look up by principal (a few leases), never by pool (all of its leases).
      'SELECT * FROM leases WHERE issuer = ? AND subject = ? AND +pool = ? AND ended_at IS NULL',
    ),
    holders: prep<[string, string], { n: number }>(
      db,
      'SELECT COUNT(DISTINCT subject) AS n FROM leases WHERE issuer = ? AND pool = ? AND ended_at IS NULL',
    ),
    activeOn: prep<[string, number], LeaseRow>(
      db,
      'SELECT * FROM leases WHERE pool = ? AND node = ? AND ended_at IS NULL',
    ),
    expiredIn: limited<[string, number], LeaseRow>(
      db,
      'SELECT * FROM leases WHERE pool = ? AND ended_at IS NULL AND expires_at <= ? ORDER BY expires_at',
    ),
    node: prep<[string, number], NodeRow>(db, 'SELECT * FROM nodes WHERE pool = ? AND node = ?'),
    hasPins: prep<[string, string, string], { one: number }>(
      db,
      'SELECT 1 AS one FROM mappings WHERE pool = ? AND issuer = ? AND subject = ? LIMIT 1',
    ),
    earliestExpiry: prep<[string], { at: number | null }>(
      db,
      'SELECT MIN(expires_at) AS at FROM leases WHERE pool = ? AND ended_at IS NULL',
    ),
    earliestPinnedExpiry: prep<[string, string, string], { at: number | null }>(
      db,
      `SELECT MIN(l.expires_at) AS at FROM mappings m
       JOIN leases l ON l.pool = m.pool AND l.node = m.node AND l.ended_at IS NULL
       WHERE m.pool = ? AND m.issuer = ? AND m.subject = ?`,
    ),
    pinsInPool: prep<[string], MappingRow>(db, 'SELECT * FROM mappings WHERE pool = ? ORDER BY node'),
    allPins: prep<[], MappingRow>(db, 'SELECT * FROM mappings ORDER BY pool, node'),
    pin: prep<[string, number], MappingRow>(db, 'SELECT * FROM mappings WHERE pool = ? AND node = ?'),
    insertLease: prep<[LeaseRow]>(
      db,
      `INSERT INTO leases (id, pool, node, generation, issuer, subject, instance, issued_at, expires_at, not_before,
         nats_public_key, ended_at, end_reason)
       VALUES (@id, @pool, @node, @generation, @issuer, @subject, @instance, @issued_at, @expires_at, @not_before,
         @nats_public_key, @ended_at, @end_reason)`,
    ),
    claimNode: prep<[string, number, number, string, string, string]>(
      db,
      `INSERT INTO nodes (pool, node, generation, last_issuer, last_subject, holder) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (pool, node) DO UPDATE SET generation = excluded.generation,
         last_issuer = excluded.last_issuer, last_subject = excluded.last_subject, holder = excluded.holder`,
    ),
    setExpiry: prep<[number, string]>(db, 'UPDATE leases SET expires_at = ? WHERE id = ? AND ended_at IS NULL'),
    endLease: prep<[number, string, string]>(
      db,
      'UPDATE leases SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL',
    ),
    freeNode: prep<[number, number, string, string, number]>(
      db,
      `UPDATE nodes SET last_end = MAX(COALESCE(last_end, ?), ?),
         holder = CASE WHEN holder = ? THEN NULL ELSE holder END
       WHERE pool = ? AND node = ?`,
    ),
    pinNode: prep<[string, number, number]>(
      db,
      `INSERT INTO nodes (pool, node, generation, pinned) VALUES (?, ?, 0, ?)
       ON CONFLICT (pool, node) DO UPDATE SET pinned = excluded.pinned`,
    ),
    putPin: prep<[MappingRow]>(
      db,
      `INSERT INTO mappings (pool, node, issuer, subject, note, created_at, created_by)
       VALUES (@pool, @node, @issuer, @subject, @note, @created_at, @created_by)
       ON CONFLICT (pool, node) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
         note = excluded.note, created_at = excluded.created_at, created_by = excluded.created_by`,
    ),
    deletePin: prep<[string, number]>(db, 'DELETE FROM mappings WHERE pool = ? AND node = ?'),
    cursor: prep<[string], { next_node: number; ranges: string }>(
      db,
      'SELECT next_node, ranges FROM pool_cursor WHERE pool = ?',
    ),
    saveCursor: prep<[string, number, string]>(
      db,
      `INSERT INTO pool_cursor (pool, next_node, ranges) VALUES (?, ?, ?)
       ON CONFLICT (pool) DO UPDATE SET next_node = excluded.next_node, ranges = excluded.ranges`,
    ),
    fillNodes: prep<[number, number, string]>(
      db,
      `WITH RECURSIVE n(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM n WHERE x < ?)
       INSERT OR IGNORE INTO nodes (pool, node, generation) SELECT ?, x, 0 FROM n`,
    ),
    audit: prep<[number, string, string, string | null, number | null, string | null, string]>(
      db,
      'INSERT INTO audit (at, actor, action, pool, node, lease_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    listAudit: prep<[number, number], AuditRow>(db, 'SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?'),
    leaseAt: prep<[string, number, number, number], LeaseRow>(
      db,
      `SELECT * FROM leases WHERE pool = ? AND node = ? AND not_before < ? AND expires_at >= ?
       ORDER BY generation DESC LIMIT 1`,
    ),
    countLeased: prep<[string, number], { n: number }>(
      db,
      'SELECT COUNT(*) AS n FROM leases WHERE pool = ? AND ended_at IS NULL AND expires_at > ?',
    ),
    countPinned: prep<[string], { n: number }>(db, 'SELECT COUNT(*) AS n FROM mappings WHERE pool = ?'),
    countPinnedLeased: prep<[string, number], { n: number }>(
      db,
      `SELECT COUNT(*) AS n FROM mappings m JOIN leases l ON l.pool = m.pool AND l.node = m.node
       WHERE m.pool = ? AND l.ended_at IS NULL AND l.expires_at > ?`,
    ),
    // The pools with unended leases, one index search each (SQLite has no skip-scan of its own).
    unendedPools: prep<[], { pool: string }>(
      db,
      `WITH RECURSIVE pools(pool) AS (
         SELECT MIN(pool) FROM leases WHERE ended_at IS NULL
         UNION ALL
         SELECT (SELECT MIN(pool) FROM leases WHERE ended_at IS NULL AND pool > pools.pool) FROM pools
         WHERE pool IS NOT NULL)
       SELECT pool FROM pools WHERE pool IS NOT NULL`,
    ),
    endedEarly: prep<[number], LeaseRow>(
      db,
      "SELECT * FROM leases WHERE ended_at >= ? AND end_reason <> 'expired' ORDER BY ended_at",
    ),
    addCalloutUser: prep<[string, string, number], unknown>(
      db,
      `INSERT INTO callout_users (public_key, lease_id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (public_key) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
    ),
    pruneCalloutUsers: prep<[number], unknown>(
      db,
      `DELETE FROM callout_users WHERE public_key IN
         (SELECT public_key FROM callout_users WHERE expires_at <= ? LIMIT ${CALLOUT_PRUNE_BATCH})`,
    ),
    liveCalloutUsers: prep<[number], { n: number }>(
      db,
      `SELECT COUNT(*) AS n FROM callout_users c JOIN leases l ON l.id = c.lease_id
       WHERE c.expires_at > ? AND l.ended_at IS NULL`,
    ),
    natsKeyUsed: prep<[string], { n: number }>(db, 'SELECT COUNT(*) AS n FROM leases WHERE nats_public_key = ?'),
    natsLoad: prep<[], { version: number; data: string }>(db, 'SELECT version, data FROM nats_state WHERE id = 1'),
    natsVersion: prep<[], { version: number }>(db, 'SELECT version FROM nats_state WHERE id = 1'),
    natsInsert: prep<[number, string]>(db, 'INSERT OR IGNORE INTO nats_state (id, version, data) VALUES (1, ?, ?)'),
    natsUpdate: prep<[number, string, number]>(
      db,
      'UPDATE nats_state SET version = ?, data = ? WHERE id = 1 AND version = ?',
    ),
  };
}

/**
 * SQL that keeps a query to the pool's configured nodes (node numbers are integers: inlined safely).
 * The unary `+` keeps SQLite from answering it with the (pool, node) key, which would read every
 * node of the range: the allocation indexes must drive, and this only filters.
 */
export function inRangesSql(column: string, ranges: NodeRanges): string {
  return `(${ranges.map(([lo, hi]) => `+${column} BETWEEN ${Math.trunc(lo)} AND ${Math.trunc(hi)}`).join(' OR ')})`;
}

/** The allocation lookups for one pool's node ranges, prepared once per pool. */
export function prepareAllocation(db: Database.Database, ranges: NodeRanges) {
  const inPool = inRangesSql('node', ranges);
  const pinned = (ready: boolean) =>
    prep<unknown[], NodeRow>(
      db,
      `SELECT n.* FROM mappings m JOIN nodes n ON n.pool = m.pool AND n.node = m.node
       WHERE m.pool = ? AND m.issuer = ? AND m.subject = ? AND n.holder IS NULL AND ${inRangesSql('m.node', ranges)}
       ${ready ? 'AND (n.last_end IS NULL OR n.last_end <= ?) ORDER BY m.node' : 'ORDER BY n.last_end, m.node'}
       LIMIT 1`,
    );
  return {
    readyPin: pinned(true),
    soonestPin: pinned(false),
    previous: prep<[string, string, string, number], NodeRow>(
      db,
      `SELECT * FROM nodes WHERE pool = ? AND holder IS NULL AND pinned = 0 AND last_issuer = ? AND last_subject = ?
       AND last_end <= ? AND ${inPool} ORDER BY last_end DESC LIMIT 1`,
    ),
    // SQLite sorts NULL first: never-ended (never granted) nodes come before any idle one.
    coldest: prep<[string], NodeRow>(
      db,
      `SELECT * FROM nodes WHERE pool = ? AND holder IS NULL AND pinned = 0 AND ${inPool}
       ORDER BY last_end, node LIMIT 1`,
    ),
  };
}
