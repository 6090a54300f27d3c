/**
 * The registry's read side: its pools, and the leases, audit, lineage and occupancy the admin API,
 * the lineage route and the metrics show. Nothing here changes the store; the lease rules that do
 * are in registry.ts.
 */
import type { PoolConfig } from '../config/types.js';
import { NotFound } from '../errors.js';
import type { LeaseFilter, Store } from '../store/port.js';
import type { AuditEntry, Lease } from './types.js';

export interface PoolOccupancy {
  pool: PoolConfig;
  total: number;
  leased: number;
  pinned: number;
  free: number;
}

export class RegistryReads {
  private readonly pools: Map<string, PoolConfig>;

  constructor(
    private readonly store: Store,
    pools: PoolConfig[],
  ) {
    this.pools = new Map(pools.map((p) => [p.name, p]));
  }

  pool(name: string): PoolConfig {
    const p = this.pools.get(name);
    if (!p) throw new NotFound(`no pool named "${name}"`);
    return p;
  }

  poolList(): PoolConfig[] {
    return [...this.pools.values()];
  }

  async listLeases(f: LeaseFilter): Promise<{ leases: Lease[]; now: number }> {
    const now = await this.store.now();
    return { leases: await this.store.listLeases({ ...f, now }), now };
  }

  getLease(id: string): Promise<Lease | undefined> {
    return this.store.getLease(id);
  }

  listAudit(after: number, limit: number): Promise<AuditEntry[]> {
    return this.store.listAudit(after, limit);
  }

  /** The lease that held `node` of `pool` at `atMs`, if any. */
  lineage(pool: string, node: number, atMs: number): Promise<Lease | undefined> {
    this.pool(pool);
    return this.store.leaseAt(pool, node, atMs);
  }

  async occupancy(): Promise<PoolOccupancy[]> {
    const now = await this.store.now();
    const out: PoolOccupancy[] = [];
    for (const pool of this.pools.values()) {
      const total = pool.nodes.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
      const c = await this.store.counts(pool.name, now);
      out.push({
        pool,
        total,
        leased: c.leased,
        pinned: c.pinned,
        free: total - c.leased - c.pinned + c.pinnedAndLeased,
      });
    }
    return out;
  }
}
