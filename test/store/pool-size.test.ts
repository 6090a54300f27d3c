// Issue 8: 16-bit and 22-bit pools, on both stores. A 22-bit pool (4 M nodes) starts with no node
// rows; they are created a chunk at a time as grants reach them; the top node works; grants stay
// distinct across chunk boundaries and hand released nodes on coldest-first.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { PoolConfig } from '../../src/config/types.js';
import { InvalidRequest } from '../../src/errors.js';
import { Registry } from '../../src/registry/registry.js';
import { parseNodeRanges } from '../../src/snowflake/layout.js';
import { NODE_CHUNK } from '../../src/store/rows.js';
import { BACKENDS } from './backends.js';

const lease = { ttlMs: 60_000, maxClockSkewMs: 1000, maxPerPrincipal: 10_000 };
const big = (nodeBits: number, sequenceBits: number, timestampBits = 41): PoolConfig => {
  const layout = { timestampBits, nodeBits, sequenceBits };
  return {
    name: `p${nodeBits}`,
    epochMs: Date.parse('2024-01-01T00:00:00Z'),
    layout,
    nodes: parseNodeRanges(`0-${2 ** nodeBits - 1}`, layout),
  };
};
const POOLS = [big(16, 6), big(22, 2, 39)];
const who = (i: number) => ({ issuer: 'corp', subject: `s${i % 50}` });

for (const backend of BACKENDS) {
  describe(`large pools: ${backend.name}`, () => {
    const drops: (() => Promise<void>)[] = [];
    after(async () => {
      for (const d of drops) await d();
    });

    it('grants across node-row chunks in 16 and 22-bit pools, with rows made only as needed', async () => {
      const b = await backend.create();
      drops.push(async () => {
        await b.store.close().catch(() => undefined);
        await b.drop();
      });
      const registry = new Registry({ store: b.store, pools: POOLS, lease });
      for (const pool of POOLS) {
        const grants = [];
        // Concurrent, in waves of 100 (a store of ten connections queues the rest).
        for (let wave = 0; wave < NODE_CHUNK + 50; wave += 100) {
          const n = Math.min(100, NODE_CHUNK + 50 - wave);
          grants.push(
            ...(await Promise.all(
              Array.from({ length: n }, (_, i) =>
                registry.acquire({ principal: who(wave + i), policy: { dynamic: true }, pool: pool.name }),
              ),
            )),
          );
        }
        const nodes = grants.map((g) => g.lease.node).sort((x, y) => x - y);
        assert.equal(new Set(nodes).size, nodes.length, 'distinct nodes');
        // Never-granted nodes first, lowest first: exactly the first nodes of the pool.
        assert.deepEqual(
          nodes,
          Array.from({ length: nodes.length }, (_, i) => i),
        );
        const top = 2 ** pool.layout.nodeBits - 1;
        const g = await registry.acquire({ principal: who(1), policy: { dynamic: true }, pool: pool.name, node: top });
        assert.equal(g.lease.node, top);
        await assert.rejects(
          registry.acquire({ principal: who(1), policy: { dynamic: true }, pool: pool.name, node: top + 1 }),
          InvalidRequest,
        );
        // Released nodes go back into the pool, but never-granted ones come first.
        await registry.release(grants[0]!.lease.id, grants[0]!.lease.principal);
        const next = await registry.acquire({ principal: who(7), policy: { dynamic: true }, pool: pool.name });
        assert.ok(next.lease.node >= NODE_CHUNK, `a fresh node, not the released one: ${next.lease.node}`);
      }
      const rows = await nodeRows(backend.name, b);
      for (const pool of POOLS) {
        assert.ok((rows.get(pool.name) ?? 0) <= 3 * NODE_CHUNK + 1, `${pool.name}: ${rows.get(pool.name)} node rows`);
      }
    });
  });
}

/** How many node rows each pool has, read from the database itself. */
async function nodeRows(kind: string, b: { location: string }): Promise<Map<string, number>> {
  const q = 'SELECT pool, COUNT(*) AS n FROM nodes GROUP BY pool';
  if (kind === 'sqlite') {
    const db = new Database(b.location, { readonly: true });
    try {
      return new Map(
        db
          .prepare<[], { pool: string; n: number }>(q)
          .all()
          .map((r) => [r.pool, r.n]),
      );
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: b.location });
  await c.connect();
  try {
    return new Map((await c.query<{ pool: string; n: string }>(q)).rows.map((r) => [r.pool, Number(r.n)]));
  } finally {
    await c.end();
  }
}
