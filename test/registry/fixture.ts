import { ManualClock } from '../../src/clock.js';
import type { LeaseConfig, PoolConfig } from '../../src/config/types.js';
import { Registry } from '../../src/registry/registry.js';
import type { Lease, Principal } from '../../src/registry/types.js';
import { parseNodeRanges, DEFAULT_LAYOUT } from '../../src/snowflake/layout.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export function pool(name: string, nodes = '0-1023'): PoolConfig {
  return {
    name,
    epochMs: Date.parse('2024-01-01T00:00:00Z'),
    layout: DEFAULT_LAYOUT,
    nodes: parseNodeRanges(nodes, DEFAULT_LAYOUT),
  };
}

export const p = (subject: string, issuer = 'corp'): Principal => ({ issuer, subject });
export const dynamic = { dynamic: true };

/** A registry on an in-memory SQLite store whose clock the test moves by hand. */
export function fixture(pools: PoolConfig[], lease: Partial<LeaseConfig> = {}) {
  const clock = new ManualClock();
  const store = new SqliteStore(':memory:', clock);
  const ended: Lease[] = [];
  const registry = new Registry({
    store,
    pools,
    lease: { ttlMs: 30_000, maxClockSkewMs: 1000, maxPerPrincipal: 3, ...lease },
    onEnded: (ls) => {
      ended.push(...ls);
    },
  });
  return { clock, store, registry, ended };
}
