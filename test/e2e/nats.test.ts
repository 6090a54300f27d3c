// Lease credentials through the whole stack: oidc-provider token → snowgate serve → nats-server.
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { connectCreds, droppedWithin, startNats, type TestNats } from '../nats/harness.js';
import { ADMIN_TOKEN, baseConfig, call, freePort, serve, startIssuer, tempDir, type Serve } from './harness.js';

describe('NATS credentials bound to leases, end to end', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let nats: TestNats;
  let reg: Serve;
  let config: object;
  const tmp = tempDir('nats-e2e');
  before(async () => {
    [issuer, nats] = await Promise.all([startIssuer(['svc-a', 'svc-b']), startNats()]);
    config = baseConfig(await freePort(), tmp.dir, issuer.issuer, {
      nats: { dir: nats.dir, servers: [nats.url] },
    });
    reg = await serve(tmp.dir, config);
  });
  after(async () => {
    await reg?.kill('SIGTERM');
    await nats?.dispose();
    await issuer?.close();
    tmp.remove();
  });

  const grant = async (sub: string, body: object = {}) => {
    const r = await call(reg.url, 'POST', '/v1/leases', await issuer.token(sub), body);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };

  it('reports NATS ready once the account is pushed', async () => {
    for (let i = 0; ; i++) {
      const r = await call(reg.url, 'GET', '/readyz', undefined);
      if (r.status === 200) break;
      assert.ok(i < 100, `readyz: ${JSON.stringify(r.body)}`);
      await sleep(100);
    }
  });

  it('drops a revoked lease’s connection within 2 s, and its creds no longer connect', async () => {
    const g = await grant('svc-a');
    const nc = await connectCreds(nats.url, g.nats.creds);
    await nc.flush();
    await sleep(1100); // a revocation covers JWTs issued at or before its second
    assert.equal((await call(reg.url, 'POST', `/v1/admin/leases/${g.lease.id}/revoke`, ADMIN_TOKEN, {})).status, 200);
    assert.equal(await droppedWithin(nc, 2000), 'closed');
    await assert.rejects(connectCreds(nats.url, g.nats.creds));
  });

  it('lets a node publish on its own subjects only', async () => {
    const a = await grant('svc-a');
    const b = await grant('svc-b');
    const listener = await connectCreds(nats.url, b.nats.creds);
    const seen: string[] = [];
    listener.subscribe('ids.default.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    await listener.flush();
    const talker = await connectCreds(nats.url, a.nats.creds);
    talker.publish(`ids.default.${a.lease.node}.ok`, 'x');
    talker.publish(`ids.default.${b.lease.node}.forged`, 'x');
    await talker.flush().catch(() => undefined);
    await sleep(300);
    assert.deepEqual(seen, [`ids.default.${a.lease.node}.ok`]);
    await talker.close().catch(() => undefined);
    await listener.close();
  });

  it('revokes after a restart what a crash kept it from revoking', async () => {
    const g = await grant('svc-a');
    const nc = await connectCreds(nats.url, g.nats.creds);
    await nc.flush();
    await reg.kill('SIGKILL');
    // The state a crash between the release's commit and its revocation leaves behind.
    const db = new Database(path.join(tmp.dir, 'snowgate.db'));
    db.prepare("UPDATE leases SET ended_at = ?, end_reason = 'released' WHERE id = ?").run(Date.now(), g.lease.id);
    db.close();
    await sleep(1100); // a revocation covers JWTs issued at or before its second
    reg = await serve(tmp.dir, config);
    assert.equal(await droppedWithin(nc, 5000), 'closed');
  });

  it('says NATS is not ready while the server is down, and recovers', async () => {
    await nats.stop();
    for (let i = 0; ; i++) {
      if ((await call(reg.url, 'GET', '/readyz', undefined)).status === 503) break;
      assert.ok(i < 150, 'readyz never noticed NATS going away');
      await sleep(100);
    }
    await nats.restart();
    for (let i = 0; ; i++) {
      if ((await call(reg.url, 'GET', '/readyz', undefined)).status === 200) break;
      assert.ok(i < 300, 'readyz never recovered');
      await sleep(100);
    }
  });
});
