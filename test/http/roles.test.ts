// Walks every admin route of the OpenAPI document with each kind of caller: a route added later
// is walked too, and fails here until it has a sample request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BOOTSTRAP, bearer, startTestApp, type TestApp } from './harness.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

describe('roles on the admin API', () => {
  let t: TestApp;
  let leaseId: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    t = await startTestApp({
      admin: {
        principals: [
          { issuer: 'corp', subject: 'listed-viewer', role: 'viewer' },
          { issuer: 'corp', subject: 'listed-admin', role: 'admin' },
        ],
      },
    });
    tokens.service = await t.token('svc-a');
    tokens.claimViewer = await t.token('claim-viewer', { groups: ['snowgate-viewers'] });
    tokens.listedViewer = await t.token('listed-viewer');
    tokens.claimAdmin = await t.token('claim-admin', { groups: ['dev', 'snowgate-admins'] });
    tokens.listedAdmin = await t.token('listed-admin');
    const grant = await t.app.inject({
      method: 'POST',
      url: '/v1/leases',
      headers: bearer(tokens.service),
      payload: {},
    });
    assert.equal(grant.statusCode, 201, grant.body);
    leaseId = grant.json<{ lease: { id: string } }>().lease.id;
  });
  after(() => t.close());

  /** A request for each admin route; mutating ones carry a body that would succeed for an admin. */
  const sample = (method: Method, path: string): { url: string; payload?: object } => {
    const url = path.replace('{pool}', 'default').replace('{node}', '7').replace('{id}', leaseId);
    const bodies: Record<string, object> = {
      'PUT /v1/admin/mappings/{pool}/{node}': { issuer: 'corp', subject: 'svc-b', note: 'walk' },
      'POST /v1/admin/leases/{id}/revoke': { reason: 'walk' },
      'POST /v1/admin/principals/revoke': { issuer: 'corp', subject: 'svc-z' },
      'POST /v1/admin/keys/rotate': {},
    };
    const key = `${method} ${path}`;
    if (method === 'GET' || method === 'DELETE') return { url };
    assert.ok(bodies[key], `no sample body for ${key}: add one, and decide whether viewers may call it`);
    return { url, payload: bodies[key] };
  };

  const adminRoutes = () => {
    const doc = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const routes: Array<[Method, string]> = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/admin/')) continue;
      for (const m of Object.keys(ops)) routes.push([m.toUpperCase() as Method, path]);
    }
    return routes;
  };

  const call = (method: Method, path: string, token: string | undefined) => {
    const { url, payload } = sample(method, path);
    return t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  };

  const snapshot = async () => ({
    pins: await t.registry.pins.list(),
    leases: (await t.registry.listLeases({})).leases,
    audit: await t.registry.listAudit(0, 1000),
  });

  it('finds every admin route in the OpenAPI document', () => {
    const routes = adminRoutes().map(([m, p]) => `${m} ${p}`);
    assert.ok(routes.length >= 9, routes.join('\n'));
    for (const r of ['GET /v1/admin/audit', 'PUT /v1/admin/mappings/{pool}/{node}', 'POST /v1/admin/keys/rotate']) {
      assert.ok(routes.includes(r), r);
    }
  });

  it('keeps callers without a token, and service tokens, off every admin route', async () => {
    const before = await snapshot();
    for (const [method, path] of adminRoutes()) {
      const none = await call(method, path, undefined);
      assert.equal(none.statusCode, 401, `${method} ${path} without a token: ${none.body}`);
      const service = await call(method, path, tokens.service);
      assert.equal(service.statusCode, 403, `${method} ${path} with a service token: ${service.body}`);
      assert.equal(service.json().code, 'forbidden');
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('lets viewers read every list, and change nothing', async () => {
    const before = await snapshot();
    for (const viewer of [tokens.claimViewer, tokens.listedViewer]) {
      for (const [method, path] of adminRoutes()) {
        const r = await call(method, path, viewer);
        if (method === 'GET') {
          // keys: 404, as this registry has no NATS section; never 401 or 403.
          assert.ok(r.statusCode === 200 || (path === '/v1/admin/keys' && r.statusCode === 404), `${path}: ${r.body}`);
        } else {
          assert.equal(r.statusCode, 403, `a viewer's ${method} ${path}: ${r.body}`);
          assert.match(r.json<{ detail: string }>().detail, /admin role required/);
        }
      }
    }
    assert.deepEqual(await snapshot(), before, 'no pin, lease or audit entry changed');
  });

  it('lets admins, by claim, by list and by bootstrap token, change things, audited under their name', async () => {
    const pin = (token: string, node: number) =>
      t.app.inject({
        method: 'PUT',
        url: `/v1/admin/mappings/default/${node}`,
        headers: bearer(token),
        payload: { issuer: 'corp', subject: 'svc-b' },
      });
    assert.equal((await pin(tokens.claimAdmin!, 1)).statusCode, 201);
    assert.equal((await pin(tokens.listedAdmin!, 2)).statusCode, 201);
    assert.equal((await pin(BOOTSTRAP, 3)).statusCode, 201);
    const revoke = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/leases/${leaseId}/revoke`,
      headers: bearer(tokens.claimAdmin),
      payload: { reason: 'walk' },
    });
    assert.equal(revoke.statusCode, 200, revoke.body);
    const audit = await t.registry.listAudit(0, 1000);
    const actors = audit.filter((e) => e.action === 'mapping.created').map((e) => [e.node, e.actor]);
    assert.deepEqual(actors, [
      [1, 'admin:corp:claim-admin'],
      [2, 'admin:corp:listed-admin'],
      [3, 'admin:bootstrap'],
    ]);
    assert.equal(audit.find((e) => e.action === 'lease.revoked')?.actor, 'admin:corp:claim-admin');
  });

  it('counts a viewer or admin as such on routes both kinds read', async () => {
    for (const token of [tokens.claimViewer, tokens.listedAdmin, tokens.service]) {
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/pools', headers: bearer(token) })).statusCode, 200);
    }
  });
});
