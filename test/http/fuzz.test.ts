// Generated requests against every route, in process: whatever the method, path, headers, body
// and token, the registry never answers 5xx (503 pool_exhausted aside: the pool is small), never
// grants a lease without a valid service token, and its state keeps its invariants.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { BOOTSTRAP, startTestApp, type TestApp } from './harness.js';

const SUBJECTS = ['svc-a', 'svc-b', 'svc-c'];
/** Principals with a valid token: viewer and admin tokens of a configured issuer may lease too. */
const PRINCIPALS = [...SUBJECTS, 'viewer', 'admin'];

describe('fuzz: every route, generated input', () => {
  let t: TestApp;
  let valid: Set<string>;
  let tokens: string[];
  const leaseIds: string[] = [];

  before(async () => {
    t = await startTestApp({ nodes: '0-7', perAddress: [0, 1] });
    const service = await Promise.all(SUBJECTS.map((s) => t.token(s)));
    const roles = [
      await t.token('viewer', { groups: ['snowgate-viewers'] }),
      await t.token('admin', { groups: ['snowgate-admins'] }),
    ];
    valid = new Set([...service, ...roles]);
    const good = service[0]!;
    tokens = [
      ...service,
      ...roles,
      BOOTSTRAP,
      await t.idp.mint({ sub: 'late', expIn: -600 }),
      await t.idp.mint({ sub: 'other', aud: 'someone-else' }),
      await t.idp.mint({ sub: 'odd', typ: 'logout+jwt' }),
      await t.idp.mint({ sub: 'long', expIn: 48 * 3600 }),
      t.idp.none(),
      await t.idp.hsWithPublicKey(),
      `${good.slice(0, -4)}AAAA`, // a signature that does not hold
      good.split('.').slice(0, 2).join('.'),
      `${BOOTSTRAP}x`,
      '',
      'x'.repeat(17 * 1024),
    ];
  });
  after(() => t.close());

  const segment = fc.oneof(
    fc.constantFrom('default', 'other', '0', '7', '8', '0x10', '1e2', '-1', '%00', '%E0%A4%A', '..', '%2F'),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
    fc.nat({ max: 2 ** 31 }).map(String),
  );
  const leaseId = fc.oneof(
    fc.constantFrom('x', '%00'),
    fc.nat().map((i) => leaseIds[i % Math.max(1, leaseIds.length)] ?? 'none'),
    segment,
  );
  const query = fc.option(
    fc
      .dictionary(fc.constantFrom('pool', 'after', 'limit', 'state', 'issuer', 'subject', 'x'), segment, { maxKeys: 3 })
      .map(
        (q) =>
          `?${Object.entries(q)
            .map(([k, v]) => `${k}=${v}`)
            .join('&')}`,
      ),
    { nil: '' },
  );
  const path = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(
          '/v1/leases',
          '/v1/pools',
          '/v1/admin/mappings',
          '/v1/admin/leases',
          '/v1/admin/principals/revoke',
          '/v1/admin/keys',
          '/v1/admin/keys/rotate',
          '/v1/admin/audit',
          '/healthz',
          '/readyz',
          '/metrics',
        ),
        query,
      )
      .map(([p, q]) => p + q),
    fc.tuple(leaseId, fc.constantFrom('', '/renew', '/revoke')).map(([id, s]) => `/v1/leases/${id}${s}`),
    leaseId.map((id) => `/v1/admin/leases/${id}/revoke`),
    fc.tuple(segment, segment).map(([p, n]) => `/v1/admin/mappings/${p}/${n}`),
    fc
      .tuple(fc.oneof(segment, fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)), query)
      .map(([id, q]) => `/v1/lineage/${id}${q}`),
    fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc
      .record(
        {
          pool: fc.oneof(fc.constantFrom('default', 'other'), fc.jsonValue()),
          instance: fc.oneof(fc.constantFrom('i-1', 'i-2'), fc.jsonValue()),
          node: fc.oneof(fc.integer({ min: -2, max: 20 }), fc.jsonValue()),
          natsPublicKey: fc.jsonValue(),
          issuer: fc.oneof(fc.constant('corp'), fc.jsonValue()),
          subject: fc.oneof(fc.constantFrom(...SUBJECTS), fc.jsonValue()),
          reason: fc.jsonValue(),
          note: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((b) => JSON.stringify(b)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '{',
      '{"node": 1e400}',
      '{"node": 123456789012345678901234567890}',
      '\u0000',
      '{"__proto__": {"x": 1}}',
    ),
  );
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
    path,
    token: fc.option(
      fc.oneof(
        fc.nat().map((i) => tokens[i % tokens.length]!),
        fc.string({ maxLength: 30 }),
      ),
      {
        nil: undefined,
      },
    ),
    scheme: fc.constantFrom('Bearer ', 'bearer ', 'Basic ', 'Bearer  ', ''),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', undefined),
    body,
  });

  // Grants, renewals and releases by known tokens, often enough to move the state about.
  const lifecycle = fc.record({
    method: fc.constantFrom('POST', 'DELETE'),
    path: fc.oneof(
      fc.constant('/v1/leases'),
      leaseId.map((id) => `/v1/leases/${id}/renew`),
      leaseId.map((id) => `/v1/leases/${id}`),
    ),
    token: fc.nat().map((i) => tokens[i % 6]!),
    scheme: fc.constant('Bearer '),
    contentType: fc.constant('application/json'),
    body: fc.oneof(
      fc.constant('{}'),
      fc
        .record(
          { instance: fc.constantFrom('i-1', 'i-2', 'i-3'), node: fc.integer({ min: 0, max: 9 }) },
          { requiredKeys: [] },
        )
        .map((b) => JSON.stringify(b)),
    ),
  });
  const anyRequest = fc.oneof({ arbitrary: lifecycle, weight: 1 }, { arbitrary: request, weight: 3 });

  type Request = {
    method: string;
    path: string;
    token?: string | undefined;
    scheme: string;
    contentType?: string | undefined;
    body?: string | undefined;
  };
  const send = async (r: Request) => {
    const headers: Record<string, string> = {};
    if (r.token !== undefined) headers.authorization = `${r.scheme}${r.token}`;
    if (r.contentType !== undefined && r.body !== undefined) headers['content-type'] = r.contentType;
    const options: InjectOptions = {
      method: r.method,
      url: r.path,
      headers,
      ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { payload: r.body } : {}),
    };
    return t.app.inject(options);
  };

  const checkInvariants = async () => {
    const { leases, now } = await t.registry.listLeases({ state: 'active' });
    const live = leases.filter((l) => l.expiresAt > now && l.endedAt === undefined);
    const nodes = live.map((l) => `${l.pool}/${l.node}`);
    assert.equal(new Set(nodes).size, nodes.length, `a node is held twice: ${nodes.join(' ')}`);
    for (const l of live) {
      assert.ok(l.node >= 0 && l.node <= 7, `node ${l.node} is outside the pool`);
      assert.equal(l.principal.issuer, 'corp');
      assert.ok(PRINCIPALS.includes(l.principal.subject), `a lease for ${l.principal.subject}`);
    }
    for (const s of PRINCIPALS) assert.ok(live.filter((l) => l.principal.subject === s).length <= 4, s);
    const audit = await t.registry.listAudit(0, 1000);
    assert.ok(
      audit.every((e, i) => i === 0 || e.id > audit[i - 1]!.id),
      'audit ids ascend',
    );
  };

  it('never answers 5xx, never grants without a valid token, keeps state consistent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyRequest, { minLength: 1, maxLength: 25 }), async (requests) => {
        for (const r of requests) {
          const res = await send(r);
          const why = `${r.method} ${r.path} (${res.statusCode}): ${res.body.slice(0, 300)}`;
          if (res.statusCode >= 500) {
            assert.equal(res.statusCode, 503, why);
            assert.equal(res.json<{ code: string }>().code, 'pool_exhausted', why);
          }
          if (res.statusCode >= 400 && r.method !== 'HEAD') {
            assert.match(String(res.headers['content-type']), /application\/problem\+json/, why);
          }
          if (r.method === 'POST' && r.path.split('?')[0] === '/v1/leases' && res.statusCode === 201) {
            assert.ok(r.scheme.trim().toLowerCase() === 'bearer' && valid.has(r.token!), `granted to ${why}`);
            leaseIds.push(res.json<{ lease: { id: string } }>().lease.id);
          }
        }
        await checkInvariants();
      }),
      { numRuns: 60 },
    );
  });

  it('grants, on the same app, to a valid token: the fuzzing did not just break everything', async () => {
    const r = await t.app.inject({
      method: 'GET',
      url: '/v1/pools',
      headers: { authorization: `Bearer ${[...valid][0]!}` },
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(leaseIds.length > 0, 'some generated requests were grants');
  });
});
