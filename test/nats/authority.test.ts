// NatsAuthority end to end against a real nats-server: issue, revoke, rotate, retire, replicas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '@nats-io/jwt';
import { NatsAuthority, type NatsAuthorityOptions } from '../../src/nats/authority.js';
import { readClaims } from '../../src/nats/jwt-encode.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { MemoryNatsStateStore, parseState, type NatsStateStore } from '../../src/nats/state.js';
import { issueUserJwt } from '../../src/nats/user-jwt.js';
import { connectCreds, connectUser, droppedWithin, sleep, startNats, type TestNats } from './harness.js';

/** Real time, shiftable: the server sees real time, the authority may be sent ahead. */
class ShiftClock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
}

describe('NatsAuthority', () => {
  let nats: TestNats;
  const running: NatsAuthority[] = [];

  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    for (const a of running) await a.close();
    await nats?.dispose();
  });

  const storeByAuthority = new WeakMap<NatsAuthority, NatsStateStore>();
  function storeOf(a: NatsAuthority): NatsStateStore {
    const s = storeByAuthority.get(a);
    if (!s) throw new Error('no store');
    return s;
  }

  async function authority(over: Partial<NatsAuthorityOptions> = {}): Promise<NatsAuthority> {
    const store = over.store ?? new MemoryNatsStateStore();
    const a = new NatsAuthority({
      keys: nats.keys,
      servers: [nats.url],
      signingKeyRotationMs: 0,
      maxJwtTtlMs: 120_000,
      syncGraceMs: 0,
      tickIntervalMs: 0,
      retryDelayMs: 200,
      ...over,
      store,
    });
    running.push(a);
    storeByAuthority.set(a, store);
    await a.start();
    await a.synced();
    return a;
  }

  const lease = (
    node: number,
    ms = 60_000,
  ): { name: string; expiresAtMs: number; pub: string[]; sub: string[]; tags: string[] } => ({
    name: 'corp:svc',
    expiresAtMs: Date.now() + ms,
    pub: [`ids.default.${node}.>`],
    sub: ['ids.default.>', '_INBOX.>'],
    tags: ['pool:default', `node:${node}`],
  });

  it('issues credentials for a client key and with a fresh seed; both connect', async () => {
    const a = await authority();
    assert.equal(a.ready(), true);
    const ukp = generateNkey('user');
    const req = lease(5);
    const withKey = a.issue({ ...req, userPublicKey: ukp.publicKey });
    assert.equal(withKey.seed, undefined);
    assert.equal(withKey.publicKey, ukp.publicKey);
    const c = readClaims<User>(withKey.jwt);
    assert.equal(c.exp, Math.floor(req.expiresAtMs / 1000));
    assert.equal(withKey.expiresAtMs, c.exp * 1000);
    assert.equal(c.iss, a.keys().keys[0]?.publicKey);
    assert.equal(c.nats.issuer_account, nats.keys.account.publicKey);
    (await connectUser(nats.url, withKey.jwt, ukp.seed)).close().catch(() => undefined);

    const fresh = a.issue(req);
    assert.match(fresh.seed ?? '', /^SU[A-Z2-7]+$/);
    const nc = await connectCreds(nats.url, fresh.creds ?? '');
    await nc.flush();
    await nc.close();
    assert.throws(() => a.issue(lease(5, 121_000)), RangeError, 'no JWT outlives maxJwtTtlMs');
  });

  it('revokes: the connected user is dropped within 2 s, and a new JWT for the same key still works', async () => {
    const a = await authority();
    const g = a.issue(lease(6));
    const nc = await connectCreds(nats.url, g.creds ?? '');
    await nc.flush();
    await sleep(1100);
    const t0 = Date.now();
    await a.revoke([g.publicKey]);
    assert.equal(await droppedWithin(nc, 2000 - (Date.now() - t0)), 'closed');
    await assert.rejects(connectCreds(nats.url, g.creds ?? ''));
    // A superseding lease for the same client key, issued in the revocation's second.
    const again = a.issue({ ...lease(6), userPublicKey: g.publicKey });
    const nc2 = await connectUser(nats.url, again.jwt, g.seed ?? '');
    await nc2.flush();
    await nc2.close();
    await assert.rejects(a.revoke(['not-a-key']));
  });

  it('rotates: old JWTs keep working until they expire; the retired key is then refused', async () => {
    const a = await authority({ maxJwtTtlMs: 4000 });
    const old = a.issue(lease(7, 3000));
    const oldKey = readClaims(old.jwt).iss;
    const conn = await connectCreds(nats.url, old.creds ?? '');
    await conn.flush();

    const keys = await a.rotate();
    const active = keys.keys.find((k) => k.state === 'active');
    const retiring = keys.keys.find((k) => k.state === 'retiring');
    assert.equal(retiring?.publicKey, oldKey);
    assert.ok(active && active.publicKey !== oldKey);
    assert.match(retiring?.retireAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(active.createdAt, /Z$/);
    const fresh = a.issue(lease(8, 3000));
    assert.equal(readClaims(fresh.jwt).iss, active.publicKey);
    (await connectCreds(nats.url, fresh.creds ?? '')).close().catch(() => undefined);
    (await connectCreds(nats.url, old.creds ?? '')).close().catch(() => undefined);
    assert.equal(await droppedWithin(conn, 1000), 'open', 'rotation does not cut the old key’s users');

    await a.tick();
    assert.equal(a.keys().keys.length, 2, 'not retired before its JWTs expired');
    await sleep(Date.parse(retiring?.retireAt ?? '') - Date.now() + 50);
    await a.tick();
    await a.synced();
    assert.deepEqual(
      a.keys().keys.map((k) => k.publicKey),
      [active.publicKey],
    );
    // A JWT signed with the retired key (a leaked key, say) no longer gets in.
    const u = generateNkey('user');
    const oldSeed = parseState((await storeOf(a).load())?.data ?? '{}').signingKeys.find((k) => k.publicKey === oldKey);
    assert.equal(oldSeed, undefined, 'the retired seed is gone from the state');
    const forged = issueUserJwt({
      account: nats.keys.account.publicKey,
      signingKey: nats.keys.signingKey.seed, // the first key: it was the one retired
      userPublicKey: u.publicKey,
      name: 'x',
      expiresAtMs: Date.now() + 60_000,
      pub: [],
      sub: [],
      tags: [],
    });
    assert.equal(readClaims(forged).iss, oldKey);
    await assert.rejects(connectUser(nats.url, forged, u.seed));
  });

  it('tick rotates an old active key, and prunes revocations past the horizon', async () => {
    const clock = new ShiftClock();
    const store = new MemoryNatsStateStore();
    const a = await authority({ clock, store, signingKeyRotationMs: 3_600_000, maxJwtTtlMs: 60_000 });
    const first = a.keys().keys[0]?.publicKey;
    await a.revoke([generateNkey('user').publicKey]);
    await a.tick();
    assert.equal(a.keys().keys.length, 1);
    assert.equal(Object.keys(parseState((await store.load())?.data ?? '').revocations).length, 1);

    clock.offset = 3_600_000;
    await a.tick();
    const after = a.keys().keys;
    assert.equal(after.length, 2);
    assert.equal(after.find((k) => k.state === 'retiring')?.publicKey, first);
    assert.deepEqual(parseState((await store.load())?.data ?? '').revocations, {}, 'pruned: its JWTs expired long ago');
    await a.synced(); // settle the push before the next test's authority takes over the server
  });

  it('keeps account iat strictly increasing, even for changes within one second', async () => {
    const store = new MemoryNatsStateStore();
    const a = await authority({ store });
    const iats: number[] = [];
    for (let i = 0; i < 4; i++) {
      await a.revoke([generateNkey('user').publicKey]);
      iats.push(parseState((await store.load())?.data ?? '').accountIat);
    }
    for (let i = 1; i < iats.length; i++) assert.ok((iats[i] ?? 0) > (iats[i - 1] ?? 0), JSON.stringify(iats));
  });

  it('survives a restart of the registry: same keys, same revocations', async () => {
    const store = new MemoryNatsStateStore();
    const a = await authority({ store });
    await a.rotate();
    const before = a.keys();
    const g = a.issue(lease(9));
    await sleep(1100);
    await a.revoke([g.publicKey]);
    await a.close();
    const b = await authority({ store });
    assert.deepEqual(b.keys(), before);
    await assert.rejects(connectCreds(nats.url, g.creds ?? ''));
    await assert.rejects(
      authority({
        store,
        keys: { ...nats.keys, account: { ...nats.keys.account, publicKey: generateNkey('account').publicKey } },
      }),
      /account/,
    );
  });

  it('two replicas on one store: both revocations land, neither undoes the other', async () => {
    const store = new MemoryNatsStateStore();
    const a = await authority({ store });
    const b = await authority({ store });
    assert.deepEqual(a.keys(), b.keys(), 'the second replica adopts the first one’s state');
    const ga = a.issue(lease(10));
    const gb = b.issue(lease(11));
    const ca = await connectCreds(nats.url, ga.creds ?? '');
    const cb = await connectCreds(nats.url, gb.creds ?? '');
    await sleep(1100);
    await Promise.all([a.revoke([ga.publicKey]), b.revoke([gb.publicKey])]);
    assert.equal(await droppedWithin(ca, 2000), 'closed');
    assert.equal(await droppedWithin(cb, 2000), 'closed');
    const s = parseState((await store.load())?.data ?? '');
    assert.ok(s.revocations[ga.publicKey] && s.revocations[gb.publicKey]);
    // Whichever push landed last, the servers end with both (a replica re-checks the store after pushing).
    await assert.rejects(connectCreds(nats.url, ga.creds ?? ''));
    await assert.rejects(connectCreds(nats.url, gb.creds ?? ''));
    // A rotation on one replica reaches the other on its next tick.
    await b.rotate();
    await a.tick();
    assert.deepEqual(a.keys(), b.keys());
    assert.equal(readClaims(a.issue(lease(12)).jwt).iss, b.keys().keys.find((k) => k.state === 'active')?.publicKey);
  });
});
