/**
 * One unit of work on the SQLite store: the StoreTx the registry runs a grant, renewal or release
 * in, each step a prepared statement (see sqlite-statements.ts). The store runs units inside its
 * group commit (group-commit.ts), so nothing here begins, commits or waits.
 */
import type Database from 'better-sqlite3';
import type { EndReason, Lease, Mapping, Principal } from '../registry/types.js';
import { type NewAuditEntry, type NodeState, type PoolRef, type StoreTx } from './port.js';
import {
  leaseFromRow,
  leaseToRow,
  mappingFromRow,
  nextChunk,
  nodeFromRow,
  rangesKey,
  type LeaseRow,
  type NodeRow,
} from './rows.js';
import { prepareAllocation, type AllocationStatements, type Statements } from './sqlite-statements.js';

/**
 * Node rows and the allocation statements of each pool's ranges. Rows are created a chunk at a
 * time, when no never-granted node is left among those that exist, never all at once.
 */
export class SqliteNodes {
  private readonly allocation = new Map<string, AllocationStatements>();

  constructor(
    private readonly db: Database.Database,
    private readonly q: Statements,
  ) {}

  statementsFor(pool: PoolRef): AllocationStatements {
    const key = `${pool.name}|${rangesKey(pool.nodes)}`;
    let s = this.allocation.get(key);
    if (!s) this.allocation.set(key, (s = prepareAllocation(this.db, pool.nodes)));
    return s;
  }

  /** The coldest free node, creating the next chunk of node rows when no never-granted one is left among them. */
  coldest(pool: PoolRef): NodeState | undefined {
    const s = this.statementsFor(pool);
    for (;;) {
      const r = s.coldest.get(pool.name);
      if (r && r.last_end === null) return nodeFromRow(r);
      const key = rangesKey(pool.nodes);
      const c = this.q.cursor.get(pool.name);
      const chunk = nextChunk(pool.nodes, c && c.ranges === key ? Number(c.next_node) : -1);
      if (!chunk) return r ? nodeFromRow(r) : undefined;
      this.q.fillNodes.run(chunk[0], chunk[1], pool.name);
      this.q.saveCursor.run(pool.name, chunk[1] + 1, key);
    }
  }
}

export function leaseById(q: Statements, id: string): Lease | undefined {
  const r = q.lease.get(id);
  return r ? leaseFromRow(r) : undefined;
}

export function sqliteTx(q: Statements, nodes: SqliteNodes, now: number): StoreTx {
  const leases = (rows: LeaseRow[]) => rows.map(leaseFromRow);
  const node = (r: NodeRow | undefined) => (r ? nodeFromRow(r) : undefined);
  return {
    now: () => now,
    getLease: async (id) => Promise.resolve(leaseById(q, id)),
    natsKeyUsed: async (key) => Promise.resolve(q.natsKeyUsed.get(key)!.n > 0),
    activeLeasesOf: async (p: Principal, pool?: string) =>
      Promise.resolve(
        leases(
          pool === undefined ? q.activeOf.all(p.issuer, p.subject) : q.activeOfInPool.all(p.issuer, p.subject, pool),
        ),
      ),
    holders: async (pool, issuer) => Promise.resolve(q.holders.get(issuer, pool)!.n),
    activeLeaseOn: async (pool, n) => {
      const r = q.activeOn.get(pool, n);
      return Promise.resolve(r ? leaseFromRow(r) : undefined);
    },
    expiredIn: async (pool, at, limit) => Promise.resolve(leases(q.expiredIn(limit).all(pool, at))),
    nodeState: async (pool, n) => Promise.resolve(node(q.node.get(pool, n))),
    freePinnedNode: async (pool, p, readyBy) => {
      const s = nodes.statementsFor(pool);
      const r =
        readyBy === undefined
          ? s.soonestPin.get(pool.name, p.issuer, p.subject)
          : s.readyPin.get(pool.name, p.issuer, p.subject, readyBy);
      return Promise.resolve(node(r));
    },
    hasPins: async (pool, p) => Promise.resolve(q.hasPins.get(pool, p.issuer, p.subject) !== undefined),
    previousNode: async (pool, p, readyBy) =>
      Promise.resolve(node(nodes.statementsFor(pool).previous.get(pool.name, p.issuer, p.subject, readyBy))),
    coldestFreeNode: async (pool) => Promise.resolve(nodes.coldest(pool)),
    earliestExpiry: async (pool, p, pinnedOnly) => {
      const r = pinnedOnly ? q.earliestPinnedExpiry.get(pool, p.issuer, p.subject) : q.earliestExpiry.get(pool);
      return Promise.resolve(r?.at != null ? Number(r.at) : undefined);
    },
    insertLease: async (l: Lease) => {
      q.insertLease.run(leaseToRow(l));
      q.claimNode.run(l.pool, l.node, l.generation, l.principal.issuer, l.principal.subject, l.id);
      return Promise.resolve();
    },
    setExpiry: async (id, expiresAt) => {
      q.setExpiry.run(expiresAt, id);
      return Promise.resolve();
    },
    endLease: async (l: Lease, endedAt: number, reason: EndReason, floorEnd: number) => {
      q.endLease.run(endedAt, reason, l.id);
      q.freeNode.run(floorEnd, floorEnd, l.id, l.pool, l.node);
      return Promise.resolve();
    },
    getPin: async (pool, n) => {
      const r = q.pin.get(pool, n);
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
      q.pinNode.run(m.pool, m.node, 1);
      return Promise.resolve();
    },
    deletePin: async (pool, n) => {
      const gone = q.deletePin.run(pool, n).changes > 0;
      if (gone) q.pinNode.run(pool, n, 0);
      return Promise.resolve(gone);
    },
    addCalloutUser: async (leaseId, publicKey, expiresAt) => {
      q.addCalloutUser.run(publicKey, leaseId, expiresAt);
      q.pruneCalloutUsers.run(now);
      return Promise.resolve();
    },
    audit: async (e: NewAuditEntry) => {
      q.audit.run(e.at, e.actor, e.action, e.pool ?? null, e.node ?? null, e.leaseId ?? null, JSON.stringify(e.detail));
      return Promise.resolve();
    },
  };
}
