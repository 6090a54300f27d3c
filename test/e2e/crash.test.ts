// A kill -9 in the middle of a burst of grants loses no grant a client was told about and never
// leaves a node held twice (DESIGN: "the registry's state survives a crash at any instant"), on
// SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../store/pg-instance.js';
import { ADMIN_TOKEN, baseConfig, call, freePort, serve, startIssuer, tempDir } from './harness.js';
import { checkLeases } from './load.js';

/** Each store: its config section, and what to check in it directly after the crash. */
const STORES = [
  {
    name: 'sqlite',
    open: async () => ({ store: undefined, check: async () => undefined, drop: async () => undefined }),
  },
  {
    name: 'postgres',
    open: async () => {
      const db = await freshDatabase();
      return {
        store: { kind: 'postgres', url: db.url },
        check: (acks: { id: string; node: number }[]) => checkLeases(db.url, acks),
        drop: () => db.drop(),
      };
    },
  },
];

describe('crash during a burst of grants', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  const tmp = tempDir('crash');
  before(async () => {
    issuer = await startIssuer(['burst']);
  });
  after(async () => {
    await issuer?.close();
    tmp.remove();
  });

  for (const kind of STORES)
    it(`keeps every acknowledged grant active and no node held twice: ${kind.name}`, async () => {
      const db = await kind.open();
      const config = baseConfig(await freePort(), tmp.dir, issuer.issuer, {
        // One principal bursts 1,000 grants here: lift the per-principal rate limit.
        lease: { ttl: '60s', maxClockSkew: '1s', maxPerPrincipal: 4096, acquiresPerSecond: 0 },
        ...(db.store ? { store: db.store } : {}),
      });
      const first = await serve(tmp.dir, config);
      const token = await issuer.token('burst');
      const acknowledged: { id: string; node: number }[] = [];
      let failed = 0;
      // Group commit answers hundreds of grants in a few milliseconds: a burst nearly the pool's size,
      // killed at its first answers, so that the kill lands with grants still in flight.
      const burst = Array.from({ length: 1000 }, (_, i) =>
        call(first.url, 'POST', '/v1/leases', token, { instance: `i-${i}` })
          .then((r) => {
            if (r.status === 201) acknowledged.push({ id: r.body.lease.id, node: r.body.lease.node });
          })
          .catch(() => failed++),
      );
      while (acknowledged.length < 10) await new Promise((ok) => setTimeout(ok, 2));
      await first.kill('SIGKILL');
      await Promise.all(burst);
      assert.ok(failed > 0, 'the kill landed mid-burst');

      const second = await serve(tmp.dir, config);
      try {
        const active = await call(second.url, 'GET', '/v1/admin/leases?state=active', ADMIN_TOKEN);
        assert.equal(active.status, 200);
        const byId = new Map<string, { node: number }>(active.body.map((l: { id: string; node: number }) => [l.id, l]));
        for (const a of acknowledged) assert.equal(byId.get(a.id)?.node, a.node, `acknowledged lease ${a.id} survives`);
        const nodes = active.body.map((l: { node: number }) => l.node);
        assert.equal(new Set(nodes).size, nodes.length, 'no node held twice');
        const renew = await call(second.url, 'POST', `/v1/leases/${acknowledged[0]!.id}/renew`, token, {});
        assert.equal(renew.status, 200);
        await db.check(acknowledged);
      } finally {
        await second.kill('SIGTERM');
        await db.drop();
      }
    });
});
