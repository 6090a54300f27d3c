/**
 * One PostgreSQL unit's StoreTx. Units of different replicas run at once; what they must not do
 * together is locked, narrowly:
 * - a lease being changed: its row (`FOR UPDATE`), so a release and a revocation cannot both end it;
 * - the grants of one principal: a transaction-scoped advisory lock on the principal, taken when its
 *   leases are read, so two grants cannot both pass `maxPerPrincipal` or supersede one lease twice;
 * - a node being claimed: its row (`FOR UPDATE SKIP LOCKED`), so concurrent grants take different
 *   nodes instead of queueing on one; the unique index on unended leases stays the guarantee;
 * - a pool's node cursor (its row), only while a grant creates the next chunk of node rows, so two
 *   grants never create one chunk twice; once the pool's rows all exist no grant locks it;
 * - a grant for a principal of an issuer with `maxPrincipals`: an advisory lock per issuer and
 *   pool, so the cap holds when new principals race (issuers without a cap never take it).
 * Independent grants, renewals and releases share nothing else: audit entries are appended
 * without a lock and numbered when the feed is read (postgres-audit.ts). What remains shared is
 * PostgreSQL's WAL: each COMMIT waits for its flush, and COMMITs that wait together share one.
 */
import type pg from 'pg';
import type { EndReason, Lease, Mapping, Principal } from '../registry/types.js';
import { auditInsert } from './postgres-audit.js';
import { inline, lit, prepared, script, type Scripted } from './postgres-sql.js';
import {
  END_LEASE,
  EXPIRED_IN,
  INSERT_LEASE,
  LEASE_FOR_UPDATE,
  NATS_KEY_USED,
  openingAnswers,
  principalReads,
  SET_EXPIRY,
} from './postgres-statements.js';
import { CALLOUT_PRUNE_BATCH, type NewAuditEntry, type PoolRef, type StoreTx, type UnitOpening } from './port.js';
import {
  leaseFromRow,
  leaseToRow,
  mappingFromRow,
  nextChunk,
  nodeFromRow,
  rangesKey,
  type LeaseRow,
  type MappingRow,
  type NodeRow,
} from './rows.js';

/** The pool's node cursor, as read beside a node. */
type CursorCols = { cursor_next: number | null; cursor_ranges: string | null };

function inRanges(column: string, pool: PoolRef): string {
  return `(${pool.nodes.map(([lo, hi]) => `${column} BETWEEN ${Math.trunc(lo)} AND ${Math.trunc(hi)}`).join(' OR ')})`;
}

export function pgUnit(
  c: pg.PoolClient,
  now: number,
  /** The opening and the results of its statements (openingStatements). */
  opened?: { opening: UnitOpening; results: pg.QueryResult[] },
): { tx: StoreTx; commit(): Promise<void> } {
  // Statements waiting to go, in the order the unit issued them: writes whose outcome it never
  // reads wait for its next read or COMMIT, and reads it starts together (Promise.all) share one
  // script. Same order, fewer round trips; one that fails fails the script, so the unit.
  const outbox: string[] = [];
  let readers: { from: number; to: number; ok: (r: pg.QueryResult[]) => void; fail: (e: unknown) => void }[] = [];
  const flush = async () => {
    const statements = outbox.splice(0);
    const waiting = readers;
    readers = [];
    try {
      const rs = await script(c, statements);
      for (const r of waiting) r.ok(rs.slice(r.from, r.to));
    } catch (e) {
      for (const r of waiting) r.fail(e);
    }
  };
  const send = (statements: string[]) =>
    new Promise<pg.QueryResult[]>((ok, fail) => {
      const from = outbox.push(...statements) - statements.length;
      if (readers.push({ from, to: from + statements.length, ok, fail }) === 1) queueMicrotask(() => void flush());
    });
  const run = async (sql: string, args: unknown[]): Promise<pg.QueryResult> =>
    outbox.length === 0 ? c.query(prepared(sql, args)) : (await send([inline(sql, args)])).at(-1)!;
  const later = (st: Scripted, args: unknown[]) => {
    outbox.push(st.call(args));
    return Promise.resolve();
  };
  const read = async <R extends pg.QueryResultRow>(st: Scripted, args: unknown[]) =>
    (await send([st.call(args)]))[0]!.rows as R[];
  const all = async <R extends pg.QueryResultRow>(sql: string, args: unknown[]) => (await run(sql, args)).rows as R[];
  // Principals this unit found to have no pin in a pool: their pinned lookups need no round trip.
  // A pin committed since is missed as if this unit had run just before it; the next one sees it.
  const pinless = new Set<string>();
  const pinKey = (pool: string, p: Principal) => `${pool}\n${p.issuer}\n${p.subject}`;
  const one = async <R extends pg.QueryResultRow>(sql: string, args: unknown[]) => (await all<R>(sql, args))[0];
  const lease = async (sql: string, args: unknown[]) => {
    const r = await one<LeaseRow>(sql, args);
    return r ? leaseFromRow(r) : undefined;
  };
  const node = async (sql: string, args: unknown[]) => {
    const r = await one<NodeRow>(sql, args);
    return r ? nodeFromRow(r) : undefined;
  };
  const audits: NewAuditEntry[] = [];
  // The opening's reads, each answered from BEGIN's script the first time it is asked: a later
  // read sees what the unit wrote since, so it goes to the database.
  const answers = openingAnswers(opened);

  // The coldest free node, with the pool's cursor in the same snapshot: when it says every node of
  // the pool has its row, the node found is the coldest there is, and no unit needs the cursor's
  // lock. That is every grant once a pool is all there; only chunk creation takes turns.
  const coldestSql = (pool: PoolRef, unlessPrevious = false) =>
    `SELECT n.*, c.next_node AS cursor_next, c.ranges AS cursor_ranges
      FROM nodes n LEFT JOIN pool_cursor c ON c.pool = n.pool
      WHERE n.pool = $1 AND n.holder IS NULL AND NOT n.pinned AND ${inRanges('n.node', pool)}
      ${unlessPrevious ? 'AND NOT EXISTS (SELECT 1 FROM previous)' : ''}
      ORDER BY n.last_end NULLS FIRST, n.node LIMIT 1 FOR UPDATE OF n SKIP LOCKED`;
  // What previousNode found when it found no previous node: the coldest, which a grant asks next.
  let coldestAhead: { key: string; row: (NodeRow & CursorCols) | undefined } | undefined;

  const coldestFreeNode = async (pool: PoolRef) => {
    const key = rangesKey(pool.nodes);
    const coldest = coldestSql(pool);
    const allThere = (c: CursorCols | undefined) =>
      c?.cursor_ranges === key && !nextChunk(pool.nodes, Number(c.cursor_next));
    const ahead = coldestAhead?.key === `${pool.name}\n${key}` ? coldestAhead : undefined;
    coldestAhead = undefined;
    const first = ahead ? ahead.row : await one<NodeRow & CursorCols>(coldest, [pool.name]);
    if (first && (first.last_end === null || allThere(first))) return nodeFromRow(first);
    if (!first) {
      // Nothing free that no other unit holds: the pool is full, unless some chunk is yet to come.
      const cur = await one<CursorCols>(
        'SELECT next_node AS cursor_next, ranges AS cursor_ranges FROM pool_cursor WHERE pool = $1',
        [pool.name],
      );
      if (allThere(cur)) {
        // Read after the cursor, so it sees every row the cursor's chunks created.
        const again = await one<NodeRow>(coldest, [pool.name]);
        return again ? nodeFromRow(again) : undefined;
      }
    }
    for (;;) {
      // No never-granted node among the rows: create the next chunk, if the pool has one.
      await run('INSERT INTO pool_cursor (pool, next_node, ranges) VALUES ($1, -1, $2) ON CONFLICT DO NOTHING', [
        pool.name,
        key,
      ]);
      const cur = (await one<{ next_node: number; ranges: string }>(
        'SELECT next_node, ranges FROM pool_cursor WHERE pool = $1 FOR UPDATE',
        [pool.name],
      ))!;
      // The unit that held the cursor before may just have committed rows this one could not see.
      const again = await one<NodeRow>(coldest, [pool.name]);
      if (again && again.last_end === null) return nodeFromRow(again);
      const chunk = nextChunk(pool.nodes, cur.ranges === key ? Number(cur.next_node) : -1);
      if (!chunk) return again ? nodeFromRow(again) : undefined;
      await run(
        `INSERT INTO nodes (pool, node, generation) SELECT $1, g, 0 FROM generate_series($2::int, $3::int) g
         ON CONFLICT DO NOTHING`,
        [pool.name, chunk[0], chunk[1]],
      );
      await run('UPDATE pool_cursor SET next_node = $2, ranges = $3 WHERE pool = $1', [pool.name, chunk[1] + 1, key]);
    }
  };

  const tx: StoreTx = {
    now: () => now,
    getLease: async (id) => {
      const a = answers.lease;
      if (a?.id === id) {
        answers.lease = undefined;
        return a.row ? leaseFromRow(a.row) : undefined;
      }
      const [row] = await read<LeaseRow>(LEASE_FOR_UPDATE, [id]);
      return row ? leaseFromRow(row) : undefined;
    },
    natsKeyUsed: async (key) => {
      const a = answers.keyUsed;
      if (a?.key === key) {
        answers.keyUsed = undefined;
        return a.used;
      }
      return (await read(NATS_KEY_USED, [key])).length > 0;
    },
    holders: async (pool, issuer) => {
      // Grants that ask take turns per issuer and pool, so a cap holds when new principals race.
      const [, r] = await send([
        `SELECT pg_advisory_xact_lock(hashtextextended(${lit(`holders\n${issuer}\n${pool}`)}, 0))`,
        `SELECT COUNT(DISTINCT subject) AS n FROM leases WHERE issuer = ${lit(issuer)} AND pool = ${lit(pool)} AND ended_at IS NULL`,
      ]);
      return Number((r!.rows[0] as { n: string } | undefined)?.n ?? 0);
    },
    activeLeasesOf: async (p: Principal, pool?: string) => {
      const a = answers.held;
      let rows: LeaseRow[];
      let pinned: boolean | undefined;
      if (a && pool === a.pool && a.principal.issuer === p.issuer && a.principal.subject === p.subject) {
        answers.held = undefined;
        ({ rows, pinned } = a);
      } else {
        // One round trip (postgres-sql.ts).
        const rs = await send(principalReads(p, pool));
        rows = rs[1]!.rows as LeaseRow[];
        pinned = pool === undefined ? undefined : (rs[2]!.rows[0] as { pinned: boolean }).pinned;
      }
      if (pool !== undefined && pinned === false) pinless.add(pinKey(pool, p));
      return rows.map(leaseFromRow);
    },
    activeLeaseOn: (pool, n) =>
      lease('SELECT * FROM leases WHERE pool = $1 AND node = $2 AND ended_at IS NULL FOR UPDATE', [pool, n]),
    expiredIn: async (pool, at, limit) => {
      const a = answers.expired;
      if (a && a.pool === pool && a.limit === limit && at === now) {
        answers.expired = undefined;
        return a.rows.map(leaseFromRow);
      }
      return (await read<LeaseRow>(EXPIRED_IN, [pool, at, limit])).map(leaseFromRow);
    },
    nodeState: (pool, n) => node('SELECT * FROM nodes WHERE pool = $1 AND node = $2', [pool, n]),
    freePinnedNode: async (pool, p, readyBy) =>
      pinless.has(pinKey(pool.name, p))
        ? undefined
        : node(
            `SELECT n.* FROM mappings m JOIN nodes n ON n.pool = m.pool AND n.node = m.node
         WHERE m.pool = $1 AND m.issuer = $2 AND m.subject = $3 AND n.holder IS NULL AND ${inRanges('m.node', pool)}
         ${readyBy === undefined ? 'ORDER BY n.last_end NULLS FIRST, m.node' : 'AND (n.last_end IS NULL OR n.last_end <= $4) ORDER BY m.node'}
         LIMIT 1 FOR UPDATE OF n SKIP LOCKED`,
            readyBy === undefined ? [pool.name, p.issuer, p.subject] : [pool.name, p.issuer, p.subject, readyBy],
          ),
    hasPins: async (pool, p) =>
      !pinless.has(pinKey(pool, p)) &&
      (
        await all('SELECT 1 FROM mappings WHERE pool = $1 AND issuer = $2 AND subject = $3 LIMIT 1', [
          pool,
          p.issuer,
          p.subject,
        ])
      ).length > 0,
    previousNode: async (pool, p, readyBy) => {
      // The principal's previous node or, when it has none ready, the coldest free node (locked,
      // as coldestFreeNode would a moment later): one round trip where a grant made two.
      const rows = await all<NodeRow & CursorCols & { is_previous: boolean }>(
        `WITH previous AS (
           SELECT * FROM nodes WHERE pool = $1 AND holder IS NULL AND NOT pinned AND last_issuer = $2
           AND last_subject = $3 AND last_end <= $4 AND ${inRanges('node', pool)}
           ORDER BY last_end DESC LIMIT 1 FOR UPDATE SKIP LOCKED),
         coldest AS (${coldestSql(pool, true)})
         SELECT previous.*, NULL::integer AS cursor_next, NULL::text AS cursor_ranges, true AS is_previous FROM previous
         UNION ALL SELECT coldest.*, false AS is_previous FROM coldest`,
        [pool.name, p.issuer, p.subject, readyBy],
      );
      const r = rows[0];
      if (r?.is_previous) return nodeFromRow(r);
      coldestAhead = { key: `${pool.name}\n${rangesKey(pool.nodes)}`, row: r };
      return undefined;
    },
    coldestFreeNode,
    earliestExpiry: async (pool, p, pinnedOnly) => {
      const r = pinnedOnly
        ? await one<{ at: string | null }>(
            `SELECT MIN(l.expires_at) AS at FROM mappings m
             JOIN leases l ON l.pool = m.pool AND l.node = m.node AND l.ended_at IS NULL
             WHERE m.pool = $1 AND m.issuer = $2 AND m.subject = $3`,
            [pool, p.issuer, p.subject],
          )
        : await one<{ at: string | null }>(
            'SELECT MIN(expires_at) AS at FROM leases WHERE pool = $1 AND ended_at IS NULL',
            [pool],
          );
      return r?.at != null ? Number(r.at) : undefined;
    },
    insertLease: async (l: Lease) => {
      const r = leaseToRow(l);
      // The lease and its node's row in one statement: the node's row reuses the lease's values.
      await later(INSERT_LEASE, [
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
      ]);
    },
    setExpiry: async (id, expiresAt) => {
      await later(SET_EXPIRY, [expiresAt, id]);
    },
    endLease: async (l: Lease, endedAt: number, reason: EndReason, floorEnd: number) => {
      // The lease and its node in one statement; the node's update does not read the lease's.
      await later(END_LEASE, [endedAt, reason, l.id, floorEnd, l.pool, l.node]);
    },
    getPin: async (pool, n) => {
      const r = await one<MappingRow>('SELECT * FROM mappings WHERE pool = $1 AND node = $2', [pool, n]);
      return r ? mappingFromRow(r) : undefined;
    },
    putPin: async (m: Mapping) => {
      pinless.delete(pinKey(m.pool, m.principal));
      // The node row first: a grant claiming this node holds it, so a pin and a grant of one node serialize.
      await run(
        `INSERT INTO nodes (pool, node, generation, pinned) VALUES ($1, $2, 0, true)
         ON CONFLICT (pool, node) DO UPDATE SET pinned = true`,
        [m.pool, m.node],
      );
      await run(
        `INSERT INTO mappings (pool, node, issuer, subject, note, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (pool, node) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
           note = excluded.note, created_at = excluded.created_at, created_by = excluded.created_by`,
        [m.pool, m.node, m.principal.issuer, m.principal.subject, m.note ?? null, m.createdAt, m.createdBy],
      );
    },
    deletePin: async (pool, n) => {
      const gone = ((await run('DELETE FROM mappings WHERE pool = $1 AND node = $2', [pool, n])).rowCount ?? 0) > 0;
      if (gone) await run('UPDATE nodes SET pinned = false WHERE pool = $1 AND node = $2', [pool, n]);
      return gone;
    },
    addCalloutUser: async (leaseId, publicKey, expiresAt) => {
      await run(
        `INSERT INTO callout_users (public_key, lease_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (public_key) DO UPDATE SET expires_at = GREATEST(callout_users.expires_at, EXCLUDED.expires_at)`,
        [publicKey, leaseId, expiresAt],
      );
      await run(
        `DELETE FROM callout_users WHERE public_key IN
           (SELECT public_key FROM callout_users WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [now, CALLOUT_PRUNE_BATCH],
      );
    },
    audit: async (e: NewAuditEntry) => {
      audits.push(e);
      return Promise.resolve();
    },
  };

  /** Appends the unit's audit entries and commits, in one round trip. */
  const commit = async () => {
    await send([...auditInsert(audits), 'COMMIT']);
  };
  return { tx, commit };
}
