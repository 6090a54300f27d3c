// Issue 7, finding 4: NATS down is said, not hidden. With the server stopped, an admin revocation and a
// release still end their leases at once and answer `pending`; once the server is back the registry
// pushes the revocations first, the users are cut off, and answers say `revoked` again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { droppedWithin, startNats, type TestNats } from '../nats/harness.js';
import {
  ADMIN_TOKEN,
  baseConfig,
  call,
  freePort,
  readyzBecomes,
  serve,
  startIssuer,
  tempDir,
  type Serve,
} from './harness.js';

/** A holder that redials fast, as a client riding out a server restart would. */
function holder(url: string, g: { nats: { jwt: string; seed: string } }): Promise<NatsConnection> {
  return connect({
    servers: url,
    authenticator: jwtAuthenticator(g.nats.jwt, new TextEncoder().encode(g.nats.seed)),
    reconnectTimeWait: 50,
    maxReconnectAttempts: -1,
    ignoreAuthErrorAbort: false,
  });
}

describe('NATS down is said, not hidden', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let nats: TestNats;
  let reg: Serve;
  const tmp = tempDir('nats-outage');
  before(async () => {
    [issuer, nats] = await Promise.all([startIssuer(['svc-a', 'svc-b']), startNats()]);
    reg = await serve(
      tmp.dir,
      baseConfig(await freePort(), tmp.dir, issuer.issuer, { nats: { dir: nats.dir, servers: [nats.url] } }),
    );
    await readyzBecomes(reg.url, 200, 'NATS ready');
  });
  after(async () => {
    await reg?.kill('SIGTERM');
    await nats?.dispose();
    await issuer?.close();
    tmp.remove();
  });

  it('ends leases during an outage, answers pending at once, and revokes them first once the server is back', async () => {
    const token = await issuer.token('svc-a');
    const grant = async (as = token) => {
      const r = await call(reg.url, 'POST', '/v1/leases', as, {});
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body;
    };
    const [revoked, released, kept] = [await grant(), await grant(), await grant()];
    const conns = await Promise.all([revoked, released, kept].map((g) => holder(nats.url, g)));
    await Promise.all(conns.map((c) => c.flush()));

    // Up, an admin's revocation waits for the servers and says so.
    const before = await grant();
    const ok = await call(reg.url, 'POST', `/v1/admin/leases/${before.lease.id}/revoke`, ADMIN_TOKEN, {});
    assert.equal(ok.status, 200);
    assert.equal(ok.body.nats, 'revoked');
    // So does a principal's, over all its leases.
    const svcB = await issuer.token('svc-b');
    await grant(svcB);
    const principal = { issuer: 'dev', subject: 'svc-b' };
    const all = await call(reg.url, 'POST', '/v1/admin/principals/revoke', ADMIN_TOKEN, principal);
    assert.deepEqual(all.body, { revoked: 1, nats: 'revoked' });
    await grant(svcB);

    await nats.stop();
    await readyzBecomes(reg.url, 503, 'NATS seen gone');
    const t0 = Date.now();
    const r = await call(reg.url, 'POST', `/v1/admin/leases/${revoked.lease.id}/revoke`, ADMIN_TOKEN, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, 'ended');
    assert.equal(r.body.nats, 'pending');
    assert.ok(Date.now() - t0 < 3000, `the revocation answered after ${Date.now() - t0} ms`);
    const d = await call(reg.url, 'DELETE', `/v1/leases/${released.lease.id}`, token);
    assert.equal(d.status, 204);
    assert.equal(d.headers.get('snowgate-nats'), 'pending');
    const down = await call(reg.url, 'POST', '/v1/admin/principals/revoke', ADMIN_TOKEN, principal);
    assert.deepEqual(down.body, { revoked: 1, nats: 'pending' });
    // Ended all the same: neither renews.
    for (const g of [revoked, released]) {
      assert.equal((await call(reg.url, 'POST', `/v1/leases/${g.lease.id}/renew`, token, {})).status, 410);
    }

    await nats.restart();
    // The ended leases' holders redial within 50 ms of the restart: the registry's push cuts them off.
    const [a, b, c] = conns as [NatsConnection, NatsConnection, NatsConnection];
    assert.equal(await droppedWithin(a, 5000), 'closed', 'the revoked holder stayed connected');
    assert.equal(await droppedWithin(b, 5000), 'closed', 'the released holder stayed connected');
    assert.equal(await droppedWithin(c, 500), 'open', 'the holder of a live lease was cut off');
    await c.flush();
    await c.close();

    const again = await call(reg.url, 'POST', `/v1/admin/leases/${revoked.lease.id}/revoke`, ADMIN_TOKEN, {});
    assert.equal(again.body.nats, 'revoked', 'confirmed once the servers hold it');
    assert.equal(
      (await call(reg.url, 'DELETE', `/v1/leases/${released.lease.id}`, token)).headers.get('snowgate-nats'),
      'revoked',
    );
    assert.equal((await call(reg.url, 'GET', '/readyz', undefined)).status, 200);
  });
});
