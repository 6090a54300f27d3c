// NatsAuthority end to end against a real nats-server: issue, revoke, rotate, retire, replicas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '@nats-io/jwt';
import { Unavailable } from '../../src/errors.js';
import { NatsAuthority, NatsUnavailable, type NatsAuthorityOptions, type Rotation } from '../../src/nats/authority.js';
import { readClaims } from '../../src/nats/jwt-encode.js';
import { LeaseCredentials } from '../../src/nats/lease-credentials.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { MemoryNatsStateStore, parseState, type NatsStateStore } from '../../src/nats/state.js';
import { formatCreds, issueUserJwt, newUserCreds } from '../../src/nats/user-jwt.js';
import { connectCreds, connectUser, droppedWithin, sleep, startNats, waitFor, type TestNats } from './harness.js';

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

  /** Started, and (unless `sync: false`: the servers are down) with the servers up to date. */
  async function authority(over: Partial<NatsAuthorityOptions> & { sync?: boolean } = {}): Promise<NatsAuthority> {
    const { sync = true, ...opts } = over;
    const store = opts.store ?? new MemoryNatsStateStore();
    const a = new NatsAuthority({
      keys: nats.keys,
      servers: [nats.url],
      signingKeyRotationMs: 0,
      maxJwtTtlMs: 120_000,
      syncGraceMs: 0,
      tickIntervalMs: 0,
      retryDelayMs: 200,
      ...opts,
      store,
    });
    running.push(a);
    storeByAuthority.set(a, store);
    await a.start();
    if (sync) await a.synced();
    return a;
  }

  const lease = (
    node: number,
    ms = 60_000,
  ): { userPublicKey: string; name: string; expiresAtMs: number; pub: string[]; sub: string[]; tags: string[] } => ({
    userPublicKey: generateNkey('user').publicKey,
    name: 'corp:svc',
    expiresAtMs: Date.now() + ms,
    pub: [`ids.default.${node}.>`],
    sub: ['ids.default.>', '_INBOX.>'],
    tags: ['pool:default', `node:${node}`],
  });

  /** Credentials for a fresh user key, as a grant without `natsPublicKey` gets them. */
  function grant(
    a: NatsAuthority,
    node: number,
    ms = 60_000,
  ): { jwt: string; expiresAtMs: number; publicKey: string; seed: string; creds: string } {
    const u = newUserCreds();
    const signed = a.issue({ ...lease(node, ms), userPublicKey: u.publicKey });
    return { ...signed, ...u, creds: formatCreds(signed.jwt, u.seed) };
  }

  const signer = (jwt: string): string => readClaims(jwt).iss;
  const activeOf = (a: NatsAuthority): string | undefined => a.keys().keys.find((k) => k.state === 'active')?.publicKey;

  it('issues a JWT for the lease’s user key that connects', async () => {
    const a = await authority();
    assert.equal(a.ready(), true);
    const ukp = generateNkey('user');
    const req = { ...lease(5), userPublicKey: ukp.publicKey };
    const signed = a.issue(req);
    const c = readClaims<User>(signed.jwt);
    assert.equal(c.sub, ukp.publicKey);
    assert.equal(c.exp, Math.floor(req.expiresAtMs / 1000));
    assert.equal(signed.expiresAtMs, c.exp * 1000);
    assert.equal(c.iss, a.keys().keys[0]?.publicKey);
    assert.equal(c.nats.issuer_account, nats.keys.account.publicKey);
    const nc = await connectUser(nats.url, signed.jwt, ukp.seed);
    await nc.flush();
    await nc.close();
  });

  it('caps exp at now + maxJwtTtlMs when the store’s clock runs ahead, and never passes the lease', async () => {
    const a = await authority({ maxJwtTtlMs: 120_000 });
    // A 120 s lease whose end comes from a store clock 5 s ahead of this process.
    const now = Date.now();
    const ahead = { ...lease(5), expiresAtMs: now + 125_000 };
    const capped = a.issue(ahead);
    const exp = readClaims(capped.jwt).exp ?? 0;
    assert.ok(exp <= Math.floor((now + 120_000 + 50) / 1000), `exp ${exp} is past now + maxJwtTtlMs`);
    assert.ok(exp >= Math.floor((now + 120_000) / 1000), `exp ${exp} capped too early`);
    assert.equal(capped.expiresAtMs, exp * 1000);
    assert.ok(capped.expiresAtMs <= ahead.expiresAtMs);
    // Within the horizon, exp is the lease's own end, rounded down.
    const within = { ...lease(5), expiresAtMs: Date.now() + 30_500 };
    assert.equal(readClaims(a.issue(within).jwt).exp, Math.floor(within.expiresAtMs / 1000));
  });

  it('revokes: the connected user is dropped within 2 s and cannot reconnect', async () => {
    const a = await authority();
    const g = grant(a, 6);
    const nc = await connectCreds(nats.url, g.creds);
    await nc.flush();
    await sleep(1100);
    const t0 = Date.now();
    assert.equal(await a.revoke([g.publicKey], { waitMs: 2000 }), 'revoked');
    assert.equal(a.revocations.status([g.publicKey]), 'revoked');
    assert.equal(await droppedWithin(nc, 2000 - (Date.now() - t0)), 'closed');
    await assert.rejects(connectCreds(nats.url, g.creds));
    await assert.rejects(a.revoke(['not-a-key']));
  });

  it('revokes with the account JWT built on its thread, as a large account is', async () => {
    const a = await authority({ accountJwtThreadFrom: 0 });
    const g = grant(a, 7);
    const nc = await connectCreds(nats.url, g.creds);
    await nc.flush();
    assert.equal(await a.revoke([g.publicKey], { waitMs: 2000 }), 'revoked');
    assert.equal(await droppedWithin(nc, 2000), 'closed');
    await assert.rejects(connectCreds(nats.url, g.creds));
  });

  it('rotates: once rotate() resolves the new key signs JWTs that connect; old JWTs work until they expire', async () => {
    const a = await authority({ maxJwtTtlMs: 4000 });
    const old = grant(a, 7, 3000);
    const oldKey = signer(old.jwt);
    const conn = await connectCreds(nats.url, old.creds);
    await conn.flush();

    const keys = await a.rotate();
    const active = keys.keys.find((k) => k.state === 'active');
    const retiring = keys.keys.find((k) => k.state === 'retiring');
    assert.equal(retiring?.publicKey, oldKey);
    assert.ok(active && active.publicKey !== oldKey);
    assert.match(retiring?.retireAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(active.createdAt, /Z$/);
    const fresh = grant(a, 8, 3000);
    assert.equal(signer(fresh.jwt), active.publicKey);
    const nc = await connectCreds(nats.url, fresh.creds);
    await nc.flush();
    await nc.close();
    (await connectCreds(nats.url, old.creds)).close().catch(() => undefined);
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
    assert.equal(signer(forged), oldKey);
    await assert.rejects(connectUser(nats.url, forged, u.seed));
  });

  it('tick starts a rotation of an old active key, promotes it once pushed, and prunes revocations', async () => {
    const clock = new ShiftClock();
    const store = new MemoryNatsStateStore();
    const rotations: Rotation[] = [];
    const a = await authority({
      clock,
      store,
      signingKeyRotationMs: 3_600_000,
      maxJwtTtlMs: 60_000,
      onRotated: (r) => rotations.push(r),
    });
    const first = activeOf(a);
    await a.revoke([generateNkey('user').publicKey]);
    await a.tick();
    assert.equal(a.keys().keys.length, 1);
    assert.equal(rotations.length, 0);
    assert.equal(parseState((await store.load())?.data ?? '').revocations.size, 1);

    clock.offset = 3_600_000;
    await a.tick();
    assert.equal(rotations.length, 1);
    assert.equal(rotations[0]?.replaces, first);
    assert.deepEqual(
      a.keys().keys.map((k) => k.publicKey),
      [first],
      'pending until the servers accepted it: not signing, not shown',
    );
    assert.equal(signer(a.issue({ ...lease(13), expiresAtMs: clock.now() + 30_000 }).jwt), first);
    assert.equal(parseState((await store.load())?.data ?? '').revocations.size, 0, 'pruned: its JWTs expired long ago');
    await waitFor('the new key to be promoted', () => activeOf(a) === rotations[0]?.publicKey);
    assert.equal(a.keys().keys.find((k) => k.state === 'retiring')?.publicKey, first);
    await a.tick();
    assert.equal(rotations.length, 1, 'the schedule counts from the promotion');
    await a.synced(); // settle the push before the next test's authority takes over the server
  });

  it('a scheduled rotation while the servers are down does not sign with a key they do not know', async () => {
    const srv = await startNats();
    const on = { keys: srv.keys, servers: [srv.url] };
    try {
      const store = new MemoryNatsStateStore();
      const rotations: Rotation[] = [];
      const a = await authority({ ...on, store, signingKeyRotationMs: 1000, onRotated: (r) => rotations.push(r) });
      const first = activeOf(a);
      await srv.stop();
      await sleep(1100);
      await a.tick();
      assert.equal(rotations.length, 1, 'the rotation is saved (and audited) at once');
      const next = rotations[0]?.publicKey;
      const saved = parseState((await store.load())?.data ?? '');
      assert.equal(saved.signingKeys.find((k) => k.state === 'pending')?.publicKey, next);
      assert.deepEqual(
        a.keys().keys.map((k) => k.publicKey),
        [first],
      );
      // Another replica that loads the state with the key pending does not sign with it either.
      const b = await authority({ ...on, store, sync: false });
      await a.tick();
      assert.equal(rotations.length, 1, 'no second rotation while one is pending');
      const issued = [grant(a, 30), grant(b, 31)];
      for (const g of issued) assert.equal(signer(g.jwt), first);

      await srv.restart();
      for (const g of issued) {
        const nc = await connectCreds(srv.url, g.creds);
        await nc.flush();
        await nc.close();
      }
      await waitFor('the new key to be promoted once the servers hold it', () => activeOf(a) === next);
      await b.tick();
      assert.equal(activeOf(b), next);
      for (const x of [a, b]) {
        const g = grant(x, 32);
        assert.equal(signer(g.jwt), next);
        const nc = await connectCreds(srv.url, g.creds);
        await nc.flush();
        await nc.close();
      }
      assert.equal(a.keys().keys.find((k) => k.state === 'retiring')?.publicKey, first);
      await a.close();
      await b.close();
    } finally {
      await srv.dispose();
    }
  });

  it('rotate() with the servers down: audited once saved, then 503; the old key signs until they are back', async () => {
    const srv = await startNats();
    const on = { keys: srv.keys, servers: [srv.url] };
    try {
      const a = await authority({ ...on, pushTimeoutMs: 500 });
      const audit: { action: string; detail: Record<string, unknown> }[] = [];
      const credentials = new LeaseCredentials(
        a,
        {
          dir: srv.dir,
          servers: [srv.url],
          signingKeyRotationMs: 0,
          credentialTtlMs: 120_000,
          keyEncryptionKeyFile: `${srv.dir}/key-encryption.key`,
          permissions: { publish: [], subscribe: [] },
        },
        (_actor, action, detail) => {
          audit.push({ action, detail });
          return Promise.resolve();
        },
      );
      const first = activeOf(a);
      await srv.stop();
      const err: unknown = await credentials.rotate({ kind: 'admin', name: 'ops' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof NatsUnavailable, String(err));
      assert.ok(err instanceof Unavailable);
      assert.equal(err.status, 503);
      assert.equal(err.code, 'unavailable');
      assert.equal(audit.length, 1);
      assert.equal(audit[0]?.action, 'keys.rotated');
      assert.equal(audit[0]?.detail.replaces, first);
      const next = audit[0]?.detail.publicKey;
      assert.ok(typeof next === 'string' && next !== first);
      assert.equal(activeOf(a), first);
      const meanwhile = grant(a, 40);
      assert.equal(signer(meanwhile.jwt), first);
      // Saved, and said to be pending: it goes out once the servers are back.
      assert.equal(await a.revoke([generateNkey('user').publicKey], { waitMs: 300 }), 'pending');

      await srv.restart();
      await a.tick();
      await waitFor('the new key to be promoted once the servers hold it', () => activeOf(a) === next);
      const nc = await connectCreds(srv.url, meanwhile.creds);
      await nc.flush();
      await nc.close();
      const after = grant(a, 41);
      assert.equal(signer(after.jwt), next);
      await (await connectCreds(srv.url, after.creds)).close();
      await a.close();
    } finally {
      await srv.dispose();
    }
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
    const g = grant(a, 9);
    await sleep(1100);
    await a.revoke([g.publicKey]);
    await a.close();
    const b = await authority({ store });
    assert.deepEqual(b.keys(), before);
    await assert.rejects(connectCreds(nats.url, g.creds));
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
    const ga = grant(a, 10);
    const gb = grant(b, 11);
    const ca = await connectCreds(nats.url, ga.creds);
    const cb = await connectCreds(nats.url, gb.creds);
    await sleep(1100);
    await Promise.all([a.revoke([ga.publicKey]), b.revoke([gb.publicKey])]);
    assert.equal(await droppedWithin(ca, 2000), 'closed');
    assert.equal(await droppedWithin(cb, 2000), 'closed');
    const s = parseState((await store.load())?.data ?? '');
    assert.ok(s.revocations.has(ga.publicKey) && s.revocations.has(gb.publicKey));
    // Whichever push landed last, the servers end with both (a replica re-checks the store after pushing).
    await assert.rejects(connectCreds(nats.url, ga.creds));
    await assert.rejects(connectCreds(nats.url, gb.creds));
    // A rotation on one replica reaches the other on its next tick.
    await b.rotate();
    await a.tick();
    assert.deepEqual(a.keys(), b.keys());
    assert.equal(signer(grant(a, 12).jwt), activeOf(b));
  });
});
