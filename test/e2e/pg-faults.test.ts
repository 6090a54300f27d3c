// PostgreSQL connection faults under load (issue 7, finding 1): terminated backends and a server
// restart give 503 with Retry-After, never a 500 or a dead replica; /readyz says so while it lasts;
// the replicas heal without a restart; every acknowledged grant survives and no node is held twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDatabase, startPrivatePostgres, terminateBackends, type PgInstance } from '../store/pg-instance.js';
import { PG_URL } from '../store/backends.js';
import { baseConfig, call, freePort, serve, startIssuer, tempDir, type Serve } from './harness.js';
import { checkLeases, churn, waitReady } from './load.js';

const WORKERS = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5'];

async function replicas(n: number, dir: string, issuer: string, dbUrl: string): Promise<Serve[]> {
  const out: Serve[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await serve(
        `${dir}`,
        baseConfig(await freePort(), dir, issuer, {
          store: { kind: 'postgres', url: dbUrl },
          lease: { ttl: '60s', maxClockSkew: '1s', maxPerPrincipal: 64, acquiresPerSecond: 0 },
        }),
      ),
    );
  }
  return out;
}

function assertSurvived(servers: Serve[], load: ReturnType<typeof churn>): void {
  for (const s of servers) assert.equal(s.child.exitCode, null, `a replica exited:\n${s.output()}`);
  assert.deepEqual(load.bad, [], `every answer is a success or a 503 with Retry-After`);
  assert.ok(!load.statuses.has(500), 'no 500');
}

describe('PostgreSQL faults under load', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let tokens: string[];
  const tmp = tempDir('pgfault');
  before(async () => {
    issuer = await startIssuer(WORKERS);
    tokens = await Promise.all(WORKERS.map((w) => issuer.token(w)));
  });
  after(async () => {
    await issuer?.close();
    tmp.remove();
  });

  it('survives terminated backends and heals', async () => {
    const db = await freshDatabase();
    const servers = await replicas(2, tmp.dir, issuer.issuer, db.url);
    try {
      const load = churn(
        servers.map((s) => s.url),
        tokens,
      );
      await sleep(300);
      let terminated = 0;
      for (let i = 0; i < 6; i++) {
        terminated += await terminateBackends(PG_URL, db.name);
        await sleep(150);
      }
      await sleep(300);
      await load.stop();
      assert.ok(terminated > 0, 'backends were terminated under load');
      assertSurvived(servers, load);
      await waitReady(servers.map((s) => s.url));
      const again = churn(
        servers.map((s) => s.url),
        tokens,
      );
      await sleep(300);
      await again.stop();
      assert.ok((again.statuses.get(201) ?? 0) > 0, 'grants again after the fault');
      assertSurvived(servers, again);
      await checkLeases(db.url, [...load.acknowledged, ...again.acknowledged]);
    } finally {
      for (const s of servers) await s.kill('SIGTERM');
      await db.drop();
    }
  });

  describe('a PostgreSQL restart', () => {
    let pgi: PgInstance;
    before(async () => {
      pgi = await startPrivatePostgres();
    });
    after(() => pgi?.destroy());

    it('answers 503 while the server is down, says so on /readyz, and heals when it is back', async () => {
      const db = await freshDatabase(pgi.url);
      const servers = await replicas(2, tmp.dir, issuer.issuer, db.url);
      try {
        const load = churn(
          servers.map((s) => s.url),
          tokens,
        );
        await sleep(400);
        pgi.stop();
        await sleep(300);
        const down = await call(servers[0]!.url, 'GET', '/readyz', undefined);
        assert.equal(down.status, 503);
        assert.match(JSON.stringify(down.body.checks.store), /./);
        const during = await call(servers[1]!.url, 'POST', '/v1/leases', tokens[0], {});
        assert.equal(during.status, 503);
        assert.equal(during.body.code, 'unavailable');
        assert.ok(Number(during.headers.get('retry-after')) >= 1);
        pgi.start();
        await waitReady(servers.map((s) => s.url));
        await sleep(400);
        await load.stop();
        assertSurvived(servers, load);
        assert.ok((load.statuses.get(503) ?? 0) > 0, 'the outage was seen');
        const acksBefore = load.acknowledged.length;
        assert.ok(acksBefore > 0);
        const fresh = await call(servers[0]!.url, 'POST', '/v1/leases', tokens[1], {});
        assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
        await checkLeases(db.url, [...load.acknowledged, { id: fresh.body.lease.id, node: fresh.body.lease.node }]);
      } finally {
        for (const s of servers) await s.kill('SIGTERM');
        await db.drop();
      }
    });
  });
});
