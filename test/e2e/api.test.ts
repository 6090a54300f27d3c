// The HTTP API end to end, with real access tokens from an oidc-provider issuer (client_credentials).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, baseConfig, call, freePort, serve, startIssuer, tempDir, type Serve } from './harness.js';

describe('the registry with an oidc-provider issuer', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let reg: Serve;
  const tmp = tempDir('api');
  before(async () => {
    issuer = await startIssuer(['svc-a', 'svc-b', 'greedy'], ['ops']);
    const lease = { ttl: '60s', maxClockSkew: '1s', maxPerPrincipal: 64, acquiresPerSecond: 0.2, acquireBurst: 3 };
    reg = await serve(tmp.dir, baseConfig(await freePort(), tmp.dir, issuer.issuer, { lease }));
  });
  after(async () => {
    await reg?.kill('SIGTERM');
    await issuer?.close();
    tmp.remove();
  });

  it('leases, renews and releases with a client_credentials token', async () => {
    const token = await issuer.token('svc-a');
    const g = await call(reg.url, 'POST', '/v1/leases', token, { instance: 'pod-1' });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    assert.deepEqual(g.body.lease.principal, { issuer: 'dev', subject: 'svc-a' });
    const r = await call(reg.url, 'POST', `/v1/leases/${g.body.lease.id}/renew`, token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const other = await call(reg.url, 'DELETE', `/v1/leases/${g.body.lease.id}`, await issuer.token('svc-b'));
    assert.equal(other.status, 403);
    assert.equal((await call(reg.url, 'DELETE', `/v1/leases/${g.body.lease.id}`, token)).status, 204);
  });

  it('admits an admin by the role claim of its token, and keeps service tokens out', async () => {
    const ops = await issuer.token('ops');
    assert.equal(
      (await call(reg.url, 'PUT', '/v1/admin/mappings/default/100', ops, { issuer: 'dev', subject: 'svc-b' })).status,
      201,
    );
    const b = await call(reg.url, 'POST', '/v1/leases', await issuer.token('svc-b'), {});
    assert.equal(b.body.lease.node, 100);
    const denied = await call(reg.url, 'GET', '/v1/admin/audit', await issuer.token('svc-a'));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'forbidden');
    const audit = await call(reg.url, 'GET', '/v1/admin/audit?limit=1000', ops);
    const actions = audit.body.map((e: { action: string }) => e.action);
    for (const a of ['lease.granted', 'lease.released', 'mapping.created']) assert.ok(actions.includes(a), a);
    assert.ok(audit.body.some((e: { actor: string }) => e.actor === 'admin:dev:ops'));
  });

  it('answers bad input with a problem, never a 5xx', async () => {
    const token = await issuer.token('svc-a');
    const cases: [string, unknown, number, string][] = [
      ['malformed JSON', '{"node": ', 400, 'invalid_request'],
      ['wrong type', { node: '17' }, 400, 'invalid_request'],
      ['null', { node: null }, 400, 'invalid_request'],
      ['huge number', '{"node": 1e400}', 400, 'invalid_request'],
      ['huge integer', '{"node": 123456789012345678901234567890}', 400, 'invalid_request'],
      ['unknown field', { pool: 'default', colour: 'blue' }, 400, 'invalid_request'],
      ['array body', [1, 2], 400, 'invalid_request'],
      ['oversized body', { instance: 'x', pad: 'y'.repeat(70 * 1024) }, 413, 'payload_too_large'],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await call(reg.url, 'POST', '/v1/leases', token, body);
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code, name);
    }
    const big = await call(reg.url, 'POST', '/v1/leases', 'x'.repeat(15 * 1024 + 512), {});
    assert.equal(big.status, 401, 'a token just under 16 KiB is parsed, and refused');
    const huge = await call(reg.url, 'POST', '/v1/leases', 'x'.repeat(20 * 1024), {});
    assert.equal(huge.status, 413, 'a token over 16 KiB is refused unparsed');
    assert.equal(huge.body.code, 'payload_too_large');
    const giant = await call(reg.url, 'POST', '/v1/leases', 'x'.repeat(40 * 1024), {});
    assert.equal(giant.status, 413, 'headers over 32 KiB: payload_too_large, as CONTRACT gives it');
    assert.equal(giant.body.code, 'payload_too_large');
    assert.equal(giant.headers.get('content-type'), 'application/problem+json');
    for (const route of ['/v1/leases/%00/renew', '/v1/leases/%E0%A4%A/renew', `/v1/leases/${'x'.repeat(300)}/renew`]) {
      const r = await call(reg.url, 'POST', route, token, {});
      assert.ok(r.status === 400 || r.status === 404, `${route}: ${r.status}`);
      assert.match(r.headers.get('content-type') ?? '', /problem\+json/, route);
    }
    const nul = await call(reg.url, 'PUT', '/v1/admin/mappings/default/5', ADMIN_TOKEN, {
      issuer: 'dev',
      subject: 'a\u0000b',
    });
    assert.equal(nul.status, 400);
    const farAfter = await call(reg.url, 'GET', '/v1/admin/audit?after=9223372036854775808', ADMIN_TOKEN);
    assert.equal(farAfter.status, 400);
    const lineage = await call(reg.url, 'GET', '/v1/lineage/99999999999999999999?pool=default', token);
    assert.equal(lineage.status, 400, JSON.stringify(lineage.body));
    const badAudit = await call(reg.url, 'GET', '/v1/admin/audit?limit=abc', ADMIN_TOKEN);
    assert.equal(badAudit.status, 400);
  });

  it('limits how fast one principal may ask for leases', async () => {
    const token = await issuer.token('greedy');
    for (let i = 0; i < 3; i++) assert.equal((await call(reg.url, 'POST', '/v1/leases', token, {})).status, 201);
    const r = await call(reg.url, 'POST', '/v1/leases', token, {});
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.equal(r.body.code, 'rate_limited');
    assert.equal(r.headers.get('retry-after'), '5');
    assert.equal((await call(reg.url, 'POST', '/v1/leases', await issuer.token('svc-b'), {})).status, 201);
  });

  it('serves readiness, metrics and the OpenAPI document', async () => {
    assert.equal((await call(reg.url, 'GET', '/readyz', undefined)).status, 200);
    const metrics = await fetch(`${reg.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /snowgate_lease_operations_total\{op="acquire",outcome="ok"\}/);
    assert.match(metrics, /snowgate_pool_nodes\{pool="default",state="leased"\}/);
    assert.match(
      metrics,
      /snowgate_token_rejections_total\{issuer="none",reason="malformed"\}/,
      'the oversized test token',
    );
    assert.match(metrics, /snowgate_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/leases"/);
    const doc = await call(reg.url, 'GET', '/openapi.json', undefined);
    assert.ok(doc.body.paths['/v1/leases']);
  });
});
