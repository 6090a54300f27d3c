/**
 * One PostgreSQL unit's StoreTx. Units of different replicas run at once; what they must not do
 * together is locked, narrowly:
 * - a lease being changed: its row (`FOR UPDATE`), so a release and a revocation cannot both end it;
 * - the grants of one principal: a transaction-scoped advisory lock on the principal, taken when its
 *   leases are read, so two grants cannot both pass `maxPerPrincipal` or supersede one lease twice;
 * - a node being claimed: its row (`FOR UPDATE SKIP LOCKED`), so concurrent grants take different
 *   nodes instead of queueing on one; the unique index on unended leases stays the guarantee;
 * - the audit append and COMMIT (see `flush`), so audit ids follow commit order.
 * Independent grants, renewals and releases share nothing else.
 */
import type pg from 'pg';
import type { EndReason, Lease, Mapping, Principal } from '../registry/types.js';
import { CALLOUT_PRUNE_BATCH, type NewAuditEntry, type PoolRef, type StoreTx } from './port.js';
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

/** Serializes the audit append and COMMIT of every unit. */
const AUDIT_LOCK = 0x61756474; // "audt"

function inRanges(column: string, pool: PoolRef): string {
  return `(${pool.nodes.map(([lo, hi]) => `${column} BETWEEN ${Math.trunc(lo)} AND ${Math.trunc(hi)}`).join(' OR ')})`;
}

export function pgUnit(c: pg.PoolClient, now: number): { tx: StoreTx; flush(): Promise<void> } {
  const all = async <R extends pg.QueryResultRow>(sql: string, args: unknown[]) => (await c.query<R>(sql, args)).rows;
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

  const coldestFreeNode = async (pool: PoolRef) => {
    const coldest = `SELECT * FROM nodes WHERE pool = $1 AND holder IS NULL AND NOT pinned AND ${inRanges('node', pool)}
      ORDER BY last_end NULLS FIRST, node LIMIT 1 FOR UPDATE SKIP LOCKED`;
    for (;;) {
      const r = await one<NodeRow>(coldest, [pool.name]);
      if (r && r.last_end === null) return nodeFromRow(r);
      // No never-granted node among the rows: create the next chunk, if the pool has one.
      const key = rangesKey(pool.nodes);
      await c.query('INSERT INTO pool_cursor (pool, next_node, ranges) VALUES ($1, -1, $2) ON CONFLICT DO NOTHING', [
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
      await c.query(
        `INSERT INTO nodes (pool, node, generation) SELECT $1, g, 0 FROM generate_series($2::int, $3::int) g
         ON CONFLICT DO NOTHING`,
        [pool.name, chunk[0], chunk[1]],
      );
      await c.query('UPDATE pool_cursor SET next_node = $2, ranges = $3 WHERE pool = $1', [
        pool.name,
        chunk[1] + 1,
        key,
      ]);
    }
  };

  const tx: StoreTx = {
    now: () => now,
    getLease: (id) => lease('SELECT * FROM leases WHERE id = $1 FOR UPDATE', [id]),
    natsKeyUsed: async (key) =>
      (await all('SELECT 1 FROM leases WHERE nats_public_key = $1 LIMIT 1', [key])).length > 0,
    holders: async (pool, issuer) => {
      // Grants that ask take turns per issuer and pool, so a cap holds when new principals race.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`holders\n${issuer}\n${pool}`]);
      const [r] = await all<{ n: string }>(
        'SELECT COUNT(DISTINCT subject) AS n FROM leases WHERE issuer = $1 AND pool = $2 AND ended_at IS NULL',
        [issuer, pool],
      );
      return Number(r?.n ?? 0);
    },
    activeLeasesOf: async (p: Principal, pool?: string) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${p.issuer}\n${p.subject}`]);
      const byPool = pool === undefined ? '' : 'AND pool = $3';
      const rows = await all<LeaseRow>(
        `SELECT * FROM leases WHERE issuer = $1 AND subject = $2 AND ended_at IS NULL ${byPool} FOR UPDATE`,
        pool === undefined ? [p.issuer, p.subject] : [p.issuer, p.subject, pool],
      );
      return rows.map(leaseFromRow);
    },
    activeLeaseOn: (pool, n) =>
      lease('SELECT * FROM leases WHERE pool = $1 AND node = $2 AND ended_at IS NULL FOR UPDATE', [pool, n]),
    expiredIn: async (pool, at, limit) =>
      (
        await all<LeaseRow>(
          `SELECT * FROM leases WHERE pool = $1 AND ended_at IS NULL AND expires_at <= $2
           ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [pool, at, limit],
        )
      ).map(leaseFromRow),
    nodeState: (pool, n) => node('SELECT * FROM nodes WHERE pool = $1 AND node = $2', [pool, n]),
    freePinnedNode: (pool, p, readyBy) =>
      node(
        `SELECT n.* FROM mappings m JOIN nodes n ON n.pool = m.pool AND n.node = m.node
         WHERE m.pool = $1 AND m.issuer = $2 AND m.subject = $3 AND n.holder IS NULL AND ${inRanges('m.node', pool)}
         ${readyBy === undefined ? 'ORDER BY n.last_end NULLS FIRST, m.node' : 'AND (n.last_end IS NULL OR n.last_end <= $4) ORDER BY m.node'}
         LIMIT 1 FOR UPDATE OF n SKIP LOCKED`,
        readyBy === undefined ? [pool.name, p.issuer, p.subject] : [pool.name, p.issuer, p.subject, readyBy],
      ),
    hasPins: async (pool, p) =>
      (
        await all('SELECT 1 FROM mappings WHERE pool = $1 AND issuer = $2 AND subject = $3 LIMIT 1', [
          pool,
          p.issuer,
          p.subject,
        ])
      ).length > 0,
    previousNode: (pool, p, readyBy) =>
      node(
        `SELECT * FROM nodes WHERE pool = $1 AND holder IS NULL AND NOT pinned AND last_issuer = $2 AND last_subject = $3
         AND last_end <= $4 AND ${inRanges('node', pool)} ORDER BY last_end DESC LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [pool.name, p.issuer, p.subject, readyBy],
      ),
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
        `INSERT INTO nodes (pool, node, generation, last_issuer, last_subject, holder) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (pool, node) DO UPDATE SET generation = excluded.generation,
           last_issuer = excluded.last_issuer, last_subject = excluded.last_subject, holder = excluded.holder`,
        [l.pool, l.node, l.generation, l.principal.issuer, l.principal.subject, l.id],
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
        `UPDATE nodes SET last_end = GREATEST(COALESCE(last_end, $1), $1),
           holder = CASE WHEN holder = $4 THEN NULL ELSE holder END
         WHERE pool = $2 AND node = $3`,
        [floorEnd, l.pool, l.node, l.id],
      );
    },
    getPin: async (pool, n) => {
      const r = await one<MappingRow>('SELECT * FROM mappings WHERE pool = $1 AND node = $2', [pool, n]);
      return r ? mappingFromRow(r) : undefined;
    },
    putPin: async (m: Mapping) => {
      // The node row first: a grant claiming this node holds it, so a pin and a grant of one node serialize.
      await c.query(
        `INSERT INTO nodes (pool, node, generation, pinned) VALUES ($1, $2, 0, true)
         ON CONFLICT (pool, node) DO UPDATE SET pinned = true`,
        [m.pool, m.node],
      );
      await c.query(
        `INSERT INTO mappings (pool, node, issuer, subject, note, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (pool, node) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
           note = excluded.note, created_at = excluded.created_at, created_by = excluded.created_by`,
        [m.pool, m.node, m.principal.issuer, m.principal.subject, m.note ?? null, m.createdAt, m.createdBy],
      );
    },
    deletePin: async (pool, n) => {
      const gone = ((await c.query('DELETE FROM mappings WHERE pool = $1 AND node = $2', [pool, n])).rowCount ?? 0) > 0;
      if (gone) await c.query('UPDATE nodes SET pinned = false WHERE pool = $1 AND node = $2', [pool, n]);
      return gone;
    },
    addCalloutUser: async (leaseId, publicKey, expiresAt) => {
      await c.query(
        `INSERT INTO callout_users (public_key, lease_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (public_key) DO UPDATE SET expires_at = GREATEST(callout_users.expires_at, EXCLUDED.expires_at)`,
        [publicKey, leaseId, expiresAt],
      );
      await c.query(
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

  /** Appends the unit's audit entries under the audit lock, held until COMMIT: ids in commit order. */
  const flush = async () => {
    if (audits.length === 0) return;
    await c.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    const args: unknown[] = [];
    const values = audits.map((e) => {
      const at = args.length;
      args.push(e.at, e.actor, e.action, e.pool ?? null, e.node ?? null, e.leaseId ?? null, JSON.stringify(e.detail));
      return `(${[1, 2, 3, 4, 5, 6, 7].map((i) => `$${at + i}`).join(', ')})`;
    });
    await c.query(
      `INSERT INTO audit (at, actor, action, pool, node, lease_id, detail) VALUES ${values.join(', ')}`,
      args,
    );
  };
  return { tx, flush };
}
