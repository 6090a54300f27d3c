import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Forbidden,
  InvalidRequest,
  LeaseGone,
  NodeConflict,
  NotFound,
  PoolExhausted,
  PrincipalLimit,
} from '../../src/errors.js';
import { dynamic, fixture, p, pool } from './fixture.js';

const admin = { kind: 'admin', name: 'test' } as const;

describe('registry: grants', () => {
  it('grants distinct nodes, never-used nodes first, with generation 1 and a floor just behind now', async () => {
    const { registry, clock } = fixture([pool('default', '0-3')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
    const b = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default' });
    assert.deepEqual([a.lease.node, b.lease.node], [0, 1]);
    assert.equal(a.lease.generation, 1);
    assert.equal(a.lease.notBefore, clock.now() - 1000);
    assert.equal(a.lease.expiresAt, clock.now() + 30_000);
  });

  it('refuses a requested node held by another principal, pinned to another, or outside the pool', async () => {
    const { registry } = fixture([pool('default', '0-9')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
    await assert.rejects(
      registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default', node: a.lease.node }),
      NodeConflict,
    );
    await registry.pins.put('default', 5, p('owner'), undefined, admin);
    await assert.rejects(
      registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default', node: 5 }),
      NodeConflict,
    );
    await assert.rejects(
      registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default', node: 10 }),
      InvalidRequest,
    );
    await assert.rejects(registry.acquire({ principal: p('b'), policy: dynamic, pool: 'nope' }), NotFound);
  });

  it('keeps the same subject of two issuers apart', async () => {
    const { registry } = fixture([pool('default', '0-9')]);
    await registry.pins.put('default', 7, p('same', 'corp'), undefined, admin);
    const other = await registry.acquire({ principal: p('same', 'prod'), policy: dynamic, pool: 'default' });
    assert.notEqual(other.lease.node, 7);
    const own = await registry.acquire({ principal: p('same', 'corp'), policy: dynamic, pool: 'default' });
    assert.equal(own.lease.node, 7);
  });

  it('limits leases per principal, not counting the one being superseded', async () => {
    const { registry } = fixture([pool('default')], { maxPerPrincipal: 2 });
    await registry.acquire({ principal: p('g'), policy: dynamic, pool: 'default', instance: 'i1' });
    await registry.acquire({ principal: p('g'), policy: dynamic, pool: 'default', instance: 'i2' });
    await assert.rejects(
      registry.acquire({ principal: p('g'), policy: dynamic, pool: 'default', instance: 'i3' }),
      PrincipalLimit,
    );
    const again = await registry.acquire({ principal: p('g'), policy: dynamic, pool: 'default', instance: 'i2' });
    assert.ok(again.superseded);
  });

  it('reports exhaustion with the seconds until the earliest expiry', async () => {
    const { registry, clock } = fixture([pool('tiny', '0-1')]);
    await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'tiny' });
    clock.advance(10_000);
    await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'tiny' });
    const err = await registry.acquire({ principal: p('c'), policy: dynamic, pool: 'tiny' }).catch((e: unknown) => e);
    assert.ok(err instanceof PoolExhausted);
    assert.equal(err.retryAfterSeconds, 20);
  });

  it('checks the issuer policy: pools and pinned-only issuers', async () => {
    const { registry } = fixture([pool('default', '0-9'), pool('other', '0-9')]);
    await assert.rejects(
      registry.acquire({ principal: p('x'), policy: { dynamic: true, pools: ['default'] }, pool: 'other' }),
      Forbidden,
    );
    const pinnedOnly = { dynamic: false };
    await assert.rejects(registry.acquire({ principal: p('x'), policy: pinnedOnly, pool: 'default' }), Forbidden);
    await registry.pins.put('default', 4, p('x'), undefined, admin);
    const g = await registry.acquire({ principal: p('x'), policy: pinnedOnly, pool: 'default' });
    assert.equal(g.lease.node, 4);
    await assert.rejects(registry.acquire({ principal: p('x'), policy: pinnedOnly, pool: 'default' }), PoolExhausted);
  });
});

describe('registry: NATS user keys', () => {
  it('refuses a NATS user key any lease already had: revoking one must not cut off another', async () => {
    const { registry } = fixture([pool('default')]);
    const key = 'U' + 'A'.repeat(55);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default', natsPublicKey: key });
    await assert.rejects(
      registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default', natsPublicKey: key }),
      InvalidRequest,
    );
    await registry.release(a.lease.id, p('a'));
    await assert.rejects(
      registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default', natsPublicKey: key }),
      InvalidRequest,
    );
  });
});

describe('registry: the floor', () => {
  it('puts a released node’s floor at the release instant plus skew, and bumps its generation', async () => {
    const { registry, clock } = fixture([pool('solo', '5-5')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'solo' });
    clock.advance(3000);
    const releasedAt = clock.now();
    await registry.release(a.lease.id, p('a'));
    const b = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'solo' });
    assert.equal(b.lease.node, 5);
    assert.equal(b.lease.generation, 2);
    assert.equal(b.lease.notBefore, releasedAt + 1000);
  });

  it('puts a revoked node’s floor at its expiry plus skew: the holder may mint until then', async () => {
    const { registry, clock } = fixture([pool('solo', '5-5')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'solo' });
    clock.advance(3000);
    await registry.revoke(a.lease.id, admin, 'test');
    const b = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'solo' });
    assert.equal(b.lease.notBefore, a.lease.expiresAt + 1000);
  });

  it('frees an expired node with its floor after the expiry, and refuses to renew it', async () => {
    const { registry, clock, ended } = fixture([pool('solo', '0-0')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'solo' });
    await assert.rejects(registry.acquire({ principal: p('b'), policy: dynamic, pool: 'solo' }), PoolExhausted);
    clock.advance(30_000);
    const b = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'solo' });
    assert.equal(b.lease.notBefore, a.lease.expiresAt + 1000);
    assert.deepEqual(
      ended.map((l) => l.id),
      [a.lease.id],
    );
    await assert.rejects(registry.renew(a.lease.id, p('a')), LeaseGone);
  });

  it('prefers nodes whose floor has passed, and the principal’s own previous node', async () => {
    const { registry, clock } = fixture([pool('pair', '0-1')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'pair' });
    const b = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'pair' });
    await registry.release(a.lease.id, p('a'));
    await registry.release(b.lease.id, p('b'));
    clock.advance(5000);
    const again = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'pair' });
    assert.equal(again.lease.node, b.lease.node, 'its own previous node');
  });

  it('supersedes the same principal and instance onto a node whose floor has passed', async () => {
    const { registry, ended } = fixture([pool('default', '0-9')]);
    const a = await registry.acquire({ principal: p('r'), policy: dynamic, pool: 'default', instance: 'pod-1' });
    const b = await registry.acquire({ principal: p('r'), policy: dynamic, pool: 'default', instance: 'pod-1' });
    assert.notEqual(b.lease.node, a.lease.node);
    assert.equal(b.superseded?.id, a.lease.id);
    assert.ok(b.lease.notBefore <= b.now);
    assert.deepEqual(
      ended.map((l) => [l.id, l.endReason]),
      [[a.lease.id, 'superseded']],
    );
    await assert.rejects(registry.renew(a.lease.id, p('r')), LeaseGone);
    await registry.renew(b.lease.id, p('r'));
  });
});

describe('registry: renew, release, revoke', () => {
  it('renews for the holder only, pushing expiry forward from now', async () => {
    const { registry, clock } = fixture([pool('default')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
    clock.advance(10_000);
    const r = await registry.renew(a.lease.id, p('a'));
    assert.equal(r.lease.expiresAt, clock.now() + 30_000);
    await assert.rejects(registry.renew(a.lease.id, p('thief')), Forbidden);
    await assert.rejects(registry.renew('nope', p('a')), NotFound);
  });

  it('releases idempotently, only for the holder', async () => {
    const { registry, ended } = fixture([pool('default')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
    await assert.rejects(registry.release(a.lease.id, p('thief')), Forbidden);
    await registry.release(a.lease.id, p('a'));
    await registry.release(a.lease.id, p('a'));
    assert.equal(ended.length, 1);
    await assert.rejects(registry.renew(a.lease.id, p('a')), LeaseGone);
  });

  it('revokes every lease of a principal and audits each change', async () => {
    const { registry, store } = fixture([pool('default'), pool('other')]);
    for (const instance of ['a', 'b'])
      await registry.acquire({ principal: p('bad'), policy: dynamic, pool: 'default', instance });
    await registry.acquire({ principal: p('bad'), policy: dynamic, pool: 'other' });
    assert.equal((await registry.revokePrincipal(p('bad'), admin, 'leak')).length, 3);
    const { leases } = await registry.listLeases({ subject: 'bad', state: 'active' });
    assert.deepEqual(leases, []);
    const actions = (await store.listAudit(0, 100)).map((e) => e.action);
    assert.deepEqual(actions.filter((a) => a === 'lease.revoked').length, 3);
    assert.ok(actions.includes('principal.revoked'));
  });
});

describe('registry: pins', () => {
  it('creates, reports unchanged, refuses collisions, deletes', async () => {
    const { registry } = fixture([pool('default', '0-9')]);
    assert.equal(await registry.pins.put('default', 3, p('o'), 'billing', admin), 'created');
    assert.equal(await registry.pins.put('default', 3, p('o'), 'billing', admin), 'unchanged');
    await assert.rejects(registry.pins.put('default', 3, p('x'), undefined, admin), NodeConflict);
    const held = await registry.acquire({ principal: p('h'), policy: dynamic, pool: 'default' });
    await assert.rejects(registry.pins.put('default', held.lease.node, p('x'), undefined, admin), NodeConflict);
    await assert.rejects(registry.pins.put('default', 10, p('x'), undefined, admin), InvalidRequest);
    await registry.pins.delete('default', 3, admin);
    await assert.rejects(registry.pins.delete('default', 3, admin), NotFound);
  });

  it('never hands a pinned node out dynamically', async () => {
    const { registry } = fixture([pool('pair', '0-1')]);
    await registry.pins.put('pair', 0, p('owner'), undefined, admin);
    const y = await registry.acquire({ principal: p('y'), policy: dynamic, pool: 'pair' });
    assert.equal(y.lease.node, 1);
    await assert.rejects(registry.acquire({ principal: p('z'), policy: dynamic, pool: 'pair' }), PoolExhausted);
    const owner = await registry.acquire({ principal: p('owner'), policy: dynamic, pool: 'pair' });
    assert.equal(owner.lease.node, 0);
  });
});

describe('registry: lineage', () => {
  it('finds the lease that held a node at an instant, and none before its floor', async () => {
    const { registry, clock } = fixture([pool('solo', '0-0')]);
    const a = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'solo' });
    clock.advance(2000);
    await registry.release(a.lease.id, p('a'));
    clock.advance(5000);
    const b = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'solo' });
    assert.equal((await registry.lineage('solo', 0, a.lease.issuedAt + 1000))?.id, a.lease.id);
    assert.equal((await registry.lineage('solo', 0, b.lease.issuedAt + 10))?.id, b.lease.id);
    assert.equal(await registry.lineage('solo', 0, a.lease.notBefore), undefined);
  });
});
