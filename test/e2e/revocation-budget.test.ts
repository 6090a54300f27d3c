// Issue 7, finding 2: revocations must never outgrow what the NATS servers accept. On a server whose
// max_payload is 64 KiB, churned leases fill the account JWT's revocations; the registry must refuse
// grants (503 revocations_full) before that, so that every release is still pushed and cuts its user off.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCreds, droppedWithin, startNats, type TestNats } from '../nats/harness.js';
import { baseConfig, call, freePort, readyzBecomes, serve, startIssuer, tempDir, type Serve } from './harness.js';

const MAX_PAYLOAD = 64 * 1024;

describe('NATS revocations within the servers’ max_payload', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let nats: TestNats;
  let reg: Serve;
  let token: string;
  const tmp = tempDir('revocation-budget');
  before(async () => {
    [issuer, nats] = await Promise.all([startIssuer(['svc-a']), startNats({ maxPayload: MAX_PAYLOAD })]);
    const port = await freePort();
    const config = baseConfig(port, tmp.dir, issuer.issuer, {
      // The churn below is ~1,400 requests from one address: more than its default burst allows.
      server: { host: '127.0.0.1', port, perAddress: { requestsPerSecond: 0 } },
      lease: {
        ttl: '60s',
        maxClockSkew: '1s',
        maxPerPrincipal: 4096,
        acquiresPerSecond: 100_000,
        acquireBurst: 100_000,
      },
      // A revocation lives as long as the JWTs it covers may: about 30 s here, so churn fills the budget.
      nats: { dir: nats.dir, servers: [nats.url], credentialTtl: '30s' },
    });
    reg = await serve(tmp.dir, config);
    token = await issuer.token('svc-a');
    await readyzBecomes(reg.url, 200, 'NATS ready');
  });
  after(async () => {
    await reg?.kill('SIGTERM');
    await nats?.dispose();
    await issuer?.close();
    tmp.remove();
  });

  it('refuses grants with 503 revocations_full before a release could go unpushed', async () => {
    // Granted first, so its revocation is in the budget: it must still land once the budget is full.
    const holder = await call(reg.url, 'POST', '/v1/leases', token, {});
    assert.equal(holder.status, 201);
    const nc = await connectCreds(nats.url, holder.body.nats.creds);
    await nc.flush();

    let refused: Awaited<ReturnType<typeof call>> | undefined;
    let churned = 0;
    // 64 KiB hold about 690 revocations of ~94 bytes: past that, a release could not be pushed.
    const churn = async () => {
      while (!refused && churned < 3000) {
        const g = await call(reg.url, 'POST', '/v1/leases', token, {});
        if (g.status !== 201) {
          refused ??= g;
          return;
        }
        churned++;
        assert.equal((await call(reg.url, 'DELETE', `/v1/leases/${g.body.lease.id}`, token)).status, 204);
      }
    };
    await Promise.all([churn(), churn(), churn(), churn()]);
    assert.ok(refused, `granted and released ${churned} leases and was never refused`);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'revocations_full');
    const wait = Number(refused.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 33, `Retry-After ${wait} s: not when the oldest revocation ages out`);
    assert.ok(churned > 500, `refused after only ${churned} leases: the budget wastes the servers' room`);

    // At the budget the servers still take every update: /readyz is green and the holder is cut off.
    const ready = await call(reg.url, 'GET', '/readyz', undefined);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal((await call(reg.url, 'DELETE', `/v1/leases/${holder.body.lease.id}`, token)).status, 204);
    assert.equal(await droppedWithin(nc, 3000), 'closed');
    await assert.rejects(connectCreds(nats.url, holder.body.nats.creds));
    assert.equal((await call(reg.url, 'GET', '/readyz', undefined)).status, 200);
  });
});
