// One suite, every store: what the Store port promises (src/store/port.ts), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from '../../src/registry/registry.js';
import { newLeaseId } from '../../src/registry/lease-id.js';
import type { Lease } from '../../src/registry/types.js';
import type { Store } from '../../src/store/port.js';
import { pool } from '../registry/fixture.js';
import { BACKENDS } from './backends.js';

const lease = { ttlMs: 30_000, maxClockSkewMs: 1000, maxPerPrincipal: 1000 };
const pools = [pool('default', '0-63')];
const admin = { kind: 'admin', name: 't' } as const;

for (const backend of BACKENDS) {
  describe(`store contract: ${backend.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    const fresh = async () => {
      const b = await backend.create();
      const opened: Store[] = [b.store];
      cleanups.push(async () => {
        for (const s of opened) await s.close().catch(() => undefined);
        await b.drop();
      });
      return {
        store: b.store,
        reopen: async () => {
          const s = await b.reopen();
          opened.push(s);
          return s;
        },
      };
    };

    it('never grants one node twice to concurrent claims', async () => {
      const { store, reopen } = await fresh();
      const second = backend.replicas ? await reopen() : store;
      const replicas = [new Registry({ store, pools, lease }), new Registry({ store: second, pools, lease })];
      const grants = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          replicas[i % 2]!.acquire({
            principal: { issuer: 'corp', subject: `s${i}` },
            policy: { dynamic: true },
            pool: 'default',
          }),
        ),
      );
      assert.equal(new Set(grants.map((g) => g.lease.node)).size, 64);
      await assert.rejects(
        replicas[0]!.acquire({
          principal: { issuer: 'corp', subject: 'late' },
          policy: { dynamic: true },
          pool: 'default',
        }),
        /no node/,
      );
    });

    it('keeps leases, pins and the audit order across a reopen', async () => {
      const { store, reopen } = await fresh();
      const r = new Registry({ store, pools, lease });
      const g = await r.acquire({
        principal: { issuer: 'corp', subject: `o'brien"; --` },
        policy: { dynamic: true },
        pool: 'default',
        instance: 'i',
      });
      await r.pins.put('default', 9, { issuer: 'corp', subject: 'ü 🚀' }, 'note', admin);
      const before = await store.listAudit(0, 100);
      if (!backend.replicas) await store.close();
      const again = new Registry({ store: await reopen(), pools, lease });
      const { leases } = await again.listLeases({ state: 'active' });
      assert.deepEqual(leases, [g.lease]);
      assert.deepEqual((await again.pins.list('default'))[0]?.principal, { issuer: 'corp', subject: 'ü 🚀' });
      const audit = await again.listAudit(0, 100);
      assert.deepEqual(audit, before);
      assert.deepEqual(
        audit.map((e) => e.action),
        ['lease.granted', 'mapping.created'],
      );
      assert.ok(audit[0]!.id < audit[1]!.id);
      assert.deepEqual(
        (await again.listAudit(audit[0]!.id, 10)).map((e) => e.id),
        [audit[1]!.id],
      );
    });

    it('records callout users per lease, only while the lease is active, and counts the live ones', async () => {
      const { store, reopen } = await fresh();
      const r = new Registry({ store, pools, lease });
      const p = { issuer: 'corp', subject: 'c' };
      const g = await r.acquire({ principal: p, policy: { dynamic: true }, pool: 'default' });
      const h = await r.acquire({ principal: p, policy: { dynamic: true }, pool: 'default' });
      const now = await store.now();
      await r.recordCalloutUser(g.lease.id, p, 'UA', now + 10_000);
      await r.recordCalloutUser(g.lease.id, p, 'UB', now + 20_000);
      await r.recordCalloutUser(g.lease.id, p, 'UB', now + 5_000); // never shortens
      await r.recordCalloutUser(h.lease.id, p, 'UC', now + 10_000);
      await assert.rejects(
        r.recordCalloutUser(g.lease.id, { issuer: 'corp', subject: 'x' }, 'UX', now + 1000),
        /another/,
      );
      await assert.rejects(r.recordCalloutUser('nope', p, 'UX', now + 1000), /no lease/);
      assert.deepEqual((await store.calloutUsersOf([g.lease.id], now)).sort(), ['UA', 'UB']);
      assert.deepEqual(await store.calloutUsersOf([g.lease.id], now + 15_000), ['UB']);
      assert.deepEqual((await store.calloutUsersOf([g.lease.id, h.lease.id], now)).sort(), ['UA', 'UB', 'UC']);
      assert.deepEqual(await store.calloutUsersOf([], now), []);
      assert.equal(await store.liveCalloutUsers(now), 3);
      await r.release(h.lease.id, p);
      assert.equal(await store.liveCalloutUsers(now), 2, 'an ended lease needs its users revoked, not counted');
      await assert.rejects(r.recordCalloutUser(h.lease.id, p, 'UD', now + 1000), /ended/);
      const again = backend.replicas ? await reopen() : store;
      assert.deepEqual((await again.calloutUsersOf([g.lease.id], now)).sort(), ['UA', 'UB']);
    });

    it('answers lineage from the store', async () => {
      const { store } = await fresh();
      const r = new Registry({ store, pools, lease });
      const g = await r.acquire({
        principal: { issuer: 'corp', subject: 'l' },
        policy: { dynamic: true },
        pool: 'default',
      });
      assert.equal((await r.lineage('default', g.lease.node, g.lease.issuedAt + 5))?.id, g.lease.id);
      assert.equal(await r.lineage('default', g.lease.node, g.lease.expiresAt + 1), undefined);
    });

    it('finds expired unended leases in every pool, earliest first', async () => {
      const { store } = await fresh();
      const now = await store.now();
      const at = (pool: string, node: number, expiresAt: number): Lease => ({
        id: newLeaseId(now),
        pool,
        node,
        generation: 1,
        principal: { issuer: 'corp', subject: `${pool}-${node}` },
        issuedAt: now - 60_000,
        expiresAt,
        notBefore: now - 60_000,
      });
      const leases = [
        at('a', 1, now - 5000),
        at('bb', 1, now - 9000),
        at('a', 2, now - 1000),
        at('ccc', 7, now - 3000),
        at('bb', 2, now + 60_000), // not expired
        at('ccc', 8, now - 20_000), // ended below
      ];
      await store.transaction(async (tx) => {
        for (const l of leases) await tx.insertLease(l);
        await tx.endLease(leases[5]!, now - 20_000, 'released', now - 20_000);
      });
      const nodes = (ls: Lease[]) => ls.map((l) => `${l.pool}/${l.node}`);
      assert.deepEqual(nodes(await store.expiredUnended(now, 10)), ['bb/1', 'a/1', 'ccc/7', 'a/2']);
      assert.deepEqual(nodes(await store.expiredUnended(now, 2)), ['bb/1', 'a/1']);
      assert.deepEqual(nodes(await store.expiredUnended(now - 4000, 10)), ['bb/1', 'a/1']);
    });

    it('keeps the NATS state with compare-and-set', async () => {
      const { store, reopen } = await fresh();
      const other = backend.replicas ? await reopen() : store;
      assert.equal(await store.natsState.load(), undefined);
      assert.equal(await store.natsState.version(), 0);
      assert.equal(await store.natsState.save(0, 'a'), true);
      assert.equal(await other.natsState.save(0, 'b'), false, 'a stale writer loses');
      assert.deepEqual(await other.natsState.load(), { version: 1, data: 'a' });
      assert.equal(await other.natsState.save(1, 'c'), true);
      assert.equal(await store.natsState.save(1, 'd'), false, 'a stale writer loses');
      assert.deepEqual(await store.natsState.load(), { version: 2, data: 'c' });
      assert.equal(await store.natsState.version(), 2, 'the version another replica saved');
    });

    it('rolls a failed unit back whole', async () => {
      const { store } = await fresh();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.audit({ at: tx.now(), actor: 't', action: 'x', detail: {} });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await store.listAudit(0, 10), []);
    });
  });
}
