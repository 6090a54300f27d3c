/**
 * What a lease operation costs in round trips to PostgreSQL, where each one (a write and a read on
 * both sides) costs more than the statements it carries, and the same again per millisecond of
 * network to a remote server: a grant reads with its BEGIN what it opens with (UnitOpening), and
 * a lease unit reads its lease there. The grant's opening compares expiries with the unit's own
 * clock, read in the same script: a lease that has expired by then is ended by the grant.
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
const pool = (nodes: string): PoolConfig => ({
  name: 'default',
  epochMs: Date.parse('2024-01-01T00:00:00Z'),
  layout,
  nodes: parseNodeRanges(nodes, layout),
});
const policy = { dynamic: true };
const alice = { issuer: 'corp', subject: 'alice' };
const bob = { issuer: 'corp', subject: 'bob' };

/** Queries sent by every pg client of this process while `fn` runs: one each is a round trip. */
async function roundTrips<T>(fn: () => Promise<T>): Promise<{ value: T; n: number }> {
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const query = pg.Client.prototype.query;
  let n = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    n++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    return { value: await fn(), n };
  } finally {
    pg.Client.prototype.query = query;
  }
}

async function open(t: { after(fn: () => Promise<void>): void }, nodes: string, ttlMs = 60_000) {
  const db = await freshDatabase();
  const store = await PostgresStore.open(db.url);
  t.after(async () => {
    await store.close();
    await db.drop();
  });
  return new Registry({ store, pools: [pool(nodes)], lease: { ttlMs, maxClockSkewMs: 50, maxPerPrincipal: 4 } });
}

describe('PostgreSQL round trips', () => {
  it('a grant takes three, a renewal and a release two each', async (t) => {
    const registry = await open(t, '0-15');
    // The first grant of a connection prepares its statements, of a pool creates its node rows.
    await registry.release((await registry.acquire({ principal: alice, policy, pool: 'default' })).lease.id, alice);
    const grant = await roundTrips(() =>
      registry.acquire({ principal: alice, policy, pool: 'default', natsPublicKey: `U${'A'.repeat(55)}` }),
    );
    assert.equal(grant.n, 3, 'BEGIN with its reads, the allocation, the insert with COMMIT');
    const id = grant.value.lease.id;
    assert.equal((await roundTrips(() => registry.renew(id, alice))).n, 2);
    assert.equal((await roundTrips(() => registry.release(id, alice))).n, 2);
  });

  it('a grant ends a lease that expired by its own clock, and takes its node', async (t) => {
    const registry = await open(t, '0-0', 300);
    const first = await registry.acquire({ principal: alice, policy, pool: 'default' });
    await new Promise((r) => setTimeout(r, 400));
    const second = await registry.acquire({ principal: bob, policy, pool: 'default' });
    assert.equal(second.lease.node, 0);
    const ended = (await registry.listLeases({ state: 'ended' })).leases.find((l) => l.id === first.lease.id);
    assert.equal(ended?.endReason, 'expired');
    assert.ok(second.lease.notBefore > first.lease.expiresAt, 'the new holder waits out the old lease');
  });
});
