/**
 * A replica whose connections prepared their statements keeps granting after another replica's
 * migration changes a table under it: PostgreSQL refuses a prepared `SELECT *` whose columns
 * grew ("cached plan must not change result type"), and the store heals by moving to fresh
 * connections, not by failing every grant until it restarts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import type { PoolConfig } from '../../src/config/types.js';
import { Registry } from '../../src/registry/registry.js';
import { parseNodeRanges } from '../../src/snowflake/layout.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { freshDatabase } from './pg-instance.js';

const layout = { timestampBits: 41, nodeBits: 10, sequenceBits: 12 };
const POOL: PoolConfig = {
  name: 'default',
  epochMs: Date.parse('2024-01-01T00:00:00Z'),
  layout,
  nodes: parseNodeRanges('0-1023', layout),
};
const lease = { ttlMs: 60_000, maxClockSkewMs: 1000, maxPerPrincipal: 10 };
const policy = { dynamic: true };

describe('PostgreSQL store across a schema change by another replica', () => {
  it('keeps granting and releasing on fresh connections', async (t) => {
    const db = await freshDatabase();
    const store = await PostgresStore.open(db.url);
    t.after(async () => {
      await store.close();
      await db.drop();
    });
    const registry = new Registry({ store, pools: [POOL], lease });
    const grant = (i: number) =>
      registry.acquire({ principal: { issuer: 'corp', subject: `s${i}` }, policy, pool: 'default' });
    // Several at once, so several connections hold the prepared statements.
    const before = await Promise.all(Array.from({ length: 8 }, (_, i) => grant(i)));

    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('ALTER TABLE leases ADD COLUMN from_a_newer_replica integer');
    await admin.end();

    const after = await Promise.all(Array.from({ length: 8 }, (_, i) => grant(100 + i)));
    const nodes = new Set([...before, ...after].map((g) => g.lease.node));
    assert.equal(nodes.size, 16, 'every grant got a node of its own');
    for (const [i, g] of before.entries()) await registry.release(g.lease.id, { issuer: 'corp', subject: `s${i}` });
    assert.equal((await grant(0)).lease.pool, 'default');
  });
});
