import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { enforceAccess } from '../../src/http/access.js';
import { BOOTSTRAP, bearer, startTestApp, type TestApp } from './harness.js';

describe('access before anything else', () => {
  let t: TestApp;
  let service: string;
  before(async () => {
    t = await startTestApp();
    service = await t.token('svc-a');
  });
  after(() => t.close());

  const send = (method: 'POST' | 'PUT' | 'DELETE' | 'GET', url: string, token?: string, payload?: string) =>
    t.app.inject({
      method,
      url,
      headers: { ...bearer(token), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(payload !== undefined ? { payload } : {}),
    });

  it('answers an unauthenticated bad body with 401, not 400: no token, no validation', async () => {
    for (const payload of ['{not json', '{"node":"17"}', '{"colour":"blue"}', '[1,2]']) {
      const r = await send('POST', '/v1/leases', undefined, payload);
      assert.equal(r.statusCode, 401, payload);
      assert.equal(r.json().code, 'invalid_token');
      assert.equal((await send('POST', '/v1/leases', 'garbage', payload)).statusCode, 401, payload);
    }
    assert.equal((await send('POST', '/v1/leases', service, '{not json')).statusCode, 400, 'with a token: 400');
  });

  it('keeps a service token from an admin route before its body or path is looked at', async () => {
    const r = await send('PUT', '/v1/admin/mappings/default/0x10', service, '{not json');
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'forbidden');
    assert.equal((await send('PUT', '/v1/admin/mappings/default/1', undefined, '{}')).statusCode, 401);
  });

  it('refuses anything but plain decimal digits as an admin path number', async () => {
    const pin = JSON.stringify({ issuer: 'corp', subject: 'svc-a' });
    for (const node of ['0x10', '1e2', '+5', '%205', '5.0', '-1', '0b11', '1_0', 'Infinity', '']) {
      const r = await send('PUT', `/v1/admin/mappings/default/${node}`, BOOTSTRAP, pin);
      assert.ok(r.statusCode === 400 || r.statusCode === 404, `${node}: ${r.statusCode} ${r.body}`);
      assert.notEqual(r.statusCode, 201, node);
    }
    assert.deepEqual((await send('GET', '/v1/admin/mappings', BOOTSTRAP)).json(), [], 'nothing was pinned');
    const ok = await send('PUT', '/v1/admin/mappings/default/16', BOOTSTRAP, pin);
    assert.equal(ok.statusCode, 400, 'node 16 is outside this pool (0-15): the number was read as 16');
    const ten = await send('PUT', '/v1/admin/mappings/default/10', BOOTSTRAP, pin);
    assert.equal(ten.statusCode, 201);
    assert.equal(ten.json().node, 10);
    assert.equal((await send('DELETE', '/v1/admin/mappings/default/0xa', BOOTSTRAP)).statusCode, 400);
    assert.equal((await send('DELETE', '/v1/admin/mappings/default/10', BOOTSTRAP)).statusCode, 204);
  });

  it('reads audit paging numbers as decimal digits only', async () => {
    for (const q of ['after=0x10', 'after=1e2', 'limit=1e2', 'limit=0', 'limit=1001', 'after=-1', 'limit=010']) {
      assert.equal((await send('GET', `/v1/admin/audit?${q}`, BOOTSTRAP)).statusCode, 400, q);
    }
    assert.equal((await send('GET', '/v1/admin/audit?after=0&limit=1000', BOOTSTRAP)).statusCode, 200);
  });

  it('refuses to start with a /v1 route that declares no access', async () => {
    const app = Fastify();
    enforceAccess(app, { auth: {} as never, metrics: t.metrics, addressLimiter: {} as never });
    assert.throws(() => app.get('/v1/open', async () => 'open'), /declares no access/);
    await app.close();
  });
});

describe('per-address rate limit', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ perAddress: [1, 3] });
  });
  after(() => t.close());

  it('answers 429 with Retry-After past the burst, before looking at the token', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(await t.app.inject({ method: 'GET', url: '/v1/pools', headers: bearer('garbage') }));
    }
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [401, 401, 401, 429, 429],
    );
    const last = answers[4]!;
    assert.equal(last.json().code, 'rate_limited');
    assert.ok(Number(last.headers['retry-after']) >= 1);
    // Another address has its own bucket; operations routes are not limited.
    const other = await t.app.inject({
      method: 'GET',
      url: '/v1/pools',
      remoteAddress: '10.0.0.2',
      headers: bearer(BOOTSTRAP),
    });
    assert.equal(other.statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });
});
