// The registry against a reference model of CONTRACT §4 (test/registry/model.ts), on SQLite and
// PostgreSQL: random sequences of acquire, supersede, renew, release, revoke, pin, unpin and clock
// advances; after every step the registry's answer and its active leases and pins equal the model's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Registry } from '../../src/registry/registry.js';
import type { Lease } from '../../src/registry/types.js';
import type { Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { freshDatabase } from '../store/pg-instance.js';
import { pool } from './fixture.js';
import { MAX_PER_PRINCIPAL, Model, SKEW, TTL, type MLease } from './model.js';

const PRINCIPALS = ['a', 'b', 'c'];
const admin = { kind: 'admin', name: 'model' } as const;
const who = (i: number) => ({ issuer: 'corp', subject: PRINCIPALS[i]! });

type Op =
  | { op: 'acquire'; p: number; dynamic: boolean; instance?: string; node?: number }
  | { op: 'supersede'; k: number }
  | { op: 'renew' | 'release'; k: number; owner: boolean }
  | { op: 'revoke'; k: number }
  | { op: 'pin'; node: number; p: number }
  | { op: 'unpin'; node: number }
  | { op: 'advance'; ms: number };

const principal = fc.integer({ min: 0, max: PRINCIPALS.length - 1 });
const node = fc.integer({ min: 0, max: 6 }); // 6 is outside the pool
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        op: fc.constant('acquire' as const),
        p: principal,
        dynamic: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
        instance: fc.constantFrom('i0', 'i1'),
        node,
      },
      { requiredKeys: ['op', 'p', 'dynamic'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('supersede' as const), k: fc.nat(20) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('renew' as const, 'release' as const),
      k: fc.nat(20),
      owner: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revoke' as const), k: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pin' as const), node, p: principal }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unpin' as const), node }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 2 * SKEW }), fc.integer({ min: 0, max: TTL + 2 * SKEW })),
    }),
  },
);

const errorName = (e: unknown) => (e instanceof Error ? e.constructor.name : String(e));

async function outcome<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: errorName(e) };
  }
}

const view = (l: MLease | Lease) => ({
  id: l.id,
  node: l.node,
  generation: l.generation,
  principal: typeof l.principal === 'string' ? l.principal : l.principal.subject,
  instance: l.instance,
  expiresAt: l.expiresAt,
  notBefore: l.notBefore,
});
const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

/** Runs `ops` on the model and on a registry over `store` in pool `poolName`, comparing after each step. */
async function check(store: Store, clock: { ms: number }, poolName: string, ops: Op[]): Promise<void> {
  const m = new Model();
  clock.ms = m.now;
  const registry = new Registry({
    store,
    pools: [pool(poolName, '0-5')],
    lease: { ttlMs: TTL, maxClockSkewMs: SKEW, maxPerPrincipal: MAX_PER_PRINCIPAL },
  });
  const issued: MLease[] = [];
  for (const [step, o] of ops.entries()) {
    const at = `step ${step} ${JSON.stringify(o)}`;
    switch (o.op) {
      case 'advance':
        m.now += o.ms;
        clock.ms = m.now;
        break;
      case 'acquire':
      case 'supersede': {
        let req: { p: number; dynamic: boolean; instance?: string; node?: number };
        if (o.op === 'acquire') req = o;
        else {
          const mine = m.active().filter((l) => l.instance !== undefined);
          const l = mine[o.k % Math.max(1, mine.length)];
          if (!l) continue;
          req = { p: PRINCIPALS.indexOf(l.principal), dynamic: true, instance: l.instance! };
        }
        const want = m.acquire(PRINCIPALS[req.p]!, req.dynamic, req.instance, req.node);
        const got = await outcome(() =>
          registry.acquire({
            principal: who(req.p),
            policy: { dynamic: req.dynamic },
            pool: poolName,
            ...(req.instance !== undefined ? { instance: req.instance } : {}),
            ...(req.node !== undefined ? { node: req.node } : {}),
          }),
        );
        if (!want.outcome.ok) {
          assert.deepEqual(got, { ok: false, error: want.outcome.error }, at);
          break;
        }
        assert.ok(got.ok, `${at}: the model grants, the registry answered ${!got.ok && got.error}`);
        const { lease, superseded } = got.value;
        assert.ok(
          want.outcome.nodes.has(lease.node),
          `${at}: node ${lease.node} not in ${[...want.outcome.nodes].join(',')}`,
        );
        assert.equal(lease.generation, want.outcome.generation(lease.node), `${at}: generation`);
        assert.equal(lease.notBefore, want.outcome.notBefore(lease.node), `${at}: notBefore`);
        assert.equal(lease.expiresAt, m.now + TTL, `${at}: expiresAt`);
        assert.equal(superseded?.id, want.superseded, `${at}: superseded`);
        const ml: MLease = {
          id: lease.id,
          node: lease.node,
          generation: lease.generation,
          principal: PRINCIPALS[req.p]!,
          ...(req.instance !== undefined ? { instance: req.instance } : {}),
          expiresAt: lease.expiresAt,
          notBefore: lease.notBefore,
        };
        m.commit(ml, want.superseded);
        issued.push(ml);
        break;
      }
      case 'renew':
      case 'release': {
        const l = issued[o.k % Math.max(1, issued.length)];
        if (!l) continue;
        const as = o.owner ? l.principal : PRINCIPALS.find((p) => p !== l.principal)!;
        const p = who(PRINCIPALS.indexOf(as));
        if (o.op === 'renew') {
          const want = m.renew(l.id, as);
          const got = await outcome(() => registry.renew(l.id, p));
          if ('error' in want) assert.deepEqual(got, { ok: false, error: want.error }, at);
          else assert.deepEqual(got.ok && got.value.lease.expiresAt, want.expiresAt, at);
        } else {
          const want = m.release(l.id, as);
          const got = await outcome(() => registry.release(l.id, p));
          assert.deepEqual(got.ok ? undefined : got.error, want.error, at);
        }
        break;
      }
      case 'revoke': {
        const l = issued[o.k % Math.max(1, issued.length)];
        if (!l) continue;
        const want = m.revoke(l.id);
        const got = await outcome(() => registry.revoke(l.id, admin));
        assert.ok(got.ok, at);
        if (want.reason !== undefined) assert.equal(got.value.endReason, want.reason, at);
        break;
      }
      case 'pin': {
        const want = m.pin(o.node, PRINCIPALS[o.p]!);
        const got = await outcome(() => registry.pins.put(poolName, o.node, who(o.p), undefined, admin));
        assert.deepEqual(got.ok ? got.value : got.error, want.error ?? want.result, at);
        break;
      }
      case 'unpin': {
        const want = m.unpin(o.node);
        const got = await outcome(() => registry.pins.delete(poolName, o.node, admin));
        assert.deepEqual(got.ok ? undefined : got.error, want.error, at);
        break;
      }
    }
    const active = (await registry.listLeases({ pool: poolName, state: 'active' })).leases;
    assert.deepEqual(active.map(view).sort(byId), m.active().map(view).sort(byId), `${at}: active leases`);
    const pins = (await registry.pins.list(poolName)).map((x) => [x.node, x.principal.subject]);
    assert.deepEqual(
      pins,
      [...m.pins].sort((a, b) => a[0] - b[0]),
      `${at}: pins`,
    );
  }
}

const ops = fc.array(opArb, { minLength: 1, maxLength: 40 });

describe('registry = model of CONTRACT §4', () => {
  it('on SQLite', async () => {
    const clock = { ms: 0 };
    await fc.assert(
      fc.asyncProperty(ops, async (seq) => {
        const store = new SqliteStore(':memory:', { now: () => clock.ms });
        try {
          await check(store, clock, 'default', seq);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 200 },
    );
  });

  describe('on PostgreSQL', () => {
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    let store: Store;
    const clock = { ms: 0 };
    before(async () => {
      db = await freshDatabase();
      store = await PostgresStore.open(db.url, { clock: { now: () => clock.ms } });
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });
    it('agrees', async () => {
      let run = 0;
      // Each run gets a pool of its own in one database: no state leaks from one run to the next.
      await fc.assert(
        fc.asyncProperty(ops, (seq) => check(store, clock, `run${run++}`, seq)),
        { numRuns: 60 },
      );
    });
  });
});
