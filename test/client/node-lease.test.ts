import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeId, Fenced, LeaseSupersededError, NodeLease, type NodeLeaseOptions } from '../../src/client/index.js';
import { FakeRuntime, leaseBody, problem, type Answer, type SeenRequest } from './fake-runtime.js';

const REGISTRY = 'http://registry.test';

function options(rt: FakeRuntime, extra: Partial<NodeLeaseOptions> = {}): NodeLeaseOptions {
  let tokens = 0;
  return {
    registry: REGISTRY,
    token: () => `token-${++tokens}`,
    instance: 'pod-1',
    runtime: rt.runtime,
    clock: rt.clock,
    ...extra,
  };
}

const renewals = (rt: FakeRuntime, id: string): SeenRequest[] =>
  rt.requests.filter((r) => r.method === 'POST' && r.path === `/v1/leases/${id}/renew`);

describe('NodeLease keeping its lease (fake time, fake registry)', () => {
  it('renews at renewAfter less a jitter, with a fresh token each time, and the fence follows each renewal', async () => {
    const rt: FakeRuntime = new FakeRuntime((r): Answer =>
      r.path === '/v1/leases' || r.path.endsWith('/renew')
        ? { status: r.path.endsWith('/renew') ? 200 : 201, body: leaseBody({ id: 'l1', wallNow: rt.wall }) }
        : { status: 204 },
    );
    const node = await NodeLease.acquire(options(rt));
    const renewed: string[] = [];
    node.on('renewed', (e) => renewed.push(e.detail.lease.expiresAt));
    await rt.advance(4_700); // renewAfter is 5 s away; the jitter (random 0.5) takes 5 % off
    assert.equal(renewals(rt, 'l1').length, 0);
    await rt.advance(100);
    assert.equal(renewals(rt, 'l1').length, 1);
    assert.equal(renewals(rt, 'l1')[0]!.auth, 'Bearer token-2');
    assert.equal(renewed.length, 1);
    // The first grant's fence was 9 s after it was asked for; renewed at 4.75 s, it is at 13.75 s.
    await rt.advance(11_000 - 4_800);
    assert.equal(typeof node.nextId(), 'bigint');
    assert.equal(decodeId(node.nextIdString(), node.layout).node, 7);
    await node.close();
    assert.ok(rt.requests.some((r) => r.method === 'DELETE' && r.path === '/v1/leases/l1'));
    assert.throws(() => node.nextId(), Fenced, 'no IDs after close()');
  });

  it('fences at sent + (expiresAt - now) - maxClockSkew by the monotonic clock when no renewal lands', async () => {
    let down = false;
    const rt = new FakeRuntime((): Answer =>
      down ? problem(503, 'unavailable') : { status: 201, body: leaseBody({ id: 'l2', wallNow: rt.wall }) },
    );
    const node = await NodeLease.acquire(options(rt, { backoff: { initialMs: 200, maxMs: 400 } }));
    let fencedAt: number | undefined;
    node.on('fenced', () => (fencedAt = rt.now));
    down = true;
    await rt.advance(8_999);
    assert.equal(typeof node.nextId(), 'bigint');
    await rt.advance(1);
    assert.throws(() => node.nextId(), Fenced);
    await rt.advance(5);
    assert.equal(fencedAt, 1_000 + 9_000 + 1, 'the fenced event fires once the deadline has passed');
    assert.ok(renewals(rt, 'l2').length >= 5, 'it kept retrying, backing off');
    await assert.rejects(node.close(), /releasing lease l2 failed: 503/, 'close() says the registry was not told');
  });

  it('after 410 lease_gone (revoked) it says lost, acquires anew and mints on the new node', async () => {
    let grants = 0;
    const rt = new FakeRuntime((r): Answer => {
      if (r.path === '/v1/leases')
        return { status: 201, body: leaseBody({ id: `g${++grants}`, node: grants, wallNow: rt.wall }) };
      if (r.path === '/v1/leases/g1/renew') return problem(410, 'lease_gone', { endReason: 'revoked' });
      if (r.method === 'DELETE') return { status: 204 };
      return { status: 200, body: leaseBody({ id: 'g2', node: 2, wallNow: rt.wall }) };
    });
    const node = await NodeLease.acquire(options(rt));
    const events: string[] = [];
    node.on('lost', (e) => events.push(`lost ${e.detail.leaseId} ${e.detail.reason}`));
    node.on('acquired', (e) => events.push(`acquired ${e.detail.lease.id}`));
    await rt.advance(5_000);
    assert.deepEqual(events, ['lost g1 revoked', 'acquired g2']);
    assert.equal(node.lease.id, 'g2');
    assert.equal(decodeId(node.nextId(), node.layout).node, 2);
    assert.equal(node.metrics().leasesLost, 1);
    await node.close();
  });

  it('gives way when superseded: no new lease, and closed() says why', async () => {
    const rt = new FakeRuntime((r): Answer =>
      r.path === '/v1/leases'
        ? { status: 201, body: leaseBody({ id: 's1', wallNow: rt.wall }) }
        : problem(410, 'lease_gone', { endReason: 'superseded' }),
    );
    const node = await NodeLease.acquire(options(rt));
    await rt.advance(5_000);
    const why = await node.closed();
    assert.ok(why instanceof LeaseSupersededError, String(why));
    assert.equal(rt.requests.filter((r) => r.path === '/v1/leases').length, 1);
    assert.throws(() => node.nextId(), Fenced);
  });

  it('fails fast with the typed error of the first grant, and releases a grant its hook refuses', async () => {
    const rt = new FakeRuntime((r): Answer =>
      r.method === 'DELETE'
        ? { status: 204 }
        : r.auth === 'Bearer bad'
          ? problem(403, 'forbidden')
          : { status: 201, body: leaseBody({ id: 'h1', wallNow: rt.wall }) },
    );
    await assert.rejects(NodeLease.acquire(options(rt, { token: 'bad' })), {
      name: 'ForbiddenError',
      code: 'forbidden',
      status: 403,
    });
    await assert.rejects(
      NodeLease.acquire(options(rt, { onGrant: () => Promise.reject(new Error('no room for the creds')) })),
      /no room for the creds; released lease h1/,
    );
    assert.ok(rt.requests.some((r) => r.method === 'DELETE' && r.path === '/v1/leases/h1'));
  });

  it('refuses, and gives back, a grant without the registry clock it fences from', async () => {
    const rt = new FakeRuntime((r): Answer => {
      if (r.method === 'DELETE') return { status: 204 };
      const body: Record<string, unknown> = leaseBody({ id: 'n1', wallNow: rt.wall });
      delete body.now;
      return { status: 201, body };
    });
    await assert.rejects(NodeLease.acquire(options(rt)), { code: 'unexpected_response' });
    assert.ok(rt.requests.some((r) => r.method === 'DELETE' && r.path === '/v1/leases/n1'));
  });
});
