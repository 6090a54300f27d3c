// What nats-server itself does with the JWTs and pushes: connect, deny, expire, revoke, restart.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Msg } from '@nats-io/transport-node';
import { buildAccountJwt } from '../../src/nats/account.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { initNats } from '../../src/nats/init.js';
import { loadNatsKeys } from '../../src/nats/keys.js';
import { AccountPublisher, PushRejected, PushTimeout } from '../../src/nats/publisher.js';
import { createSigner } from '../../src/nats/signer.js';
import { formatCreds, issueUserJwt } from '../../src/nats/user-jwt.js';
import {
  connectCreds,
  connectUser,
  droppedWithin,
  freePort,
  sleep,
  startNats,
  tempDir,
  waitFor,
  type TestNats,
} from './harness.js';

describe('nats-server with snowgate JWTs', () => {
  let nats: TestNats;
  let publisher: AccountPublisher;
  let seq = 0;
  let iat = Math.floor(Date.now() / 1000);

  before(async () => {
    nats = await startNats();
    publisher = new AccountPublisher({
      servers: [nats.url],
      systemCreds: nats.keys.systemCreds,
      retryDelayMs: 200,
      requestTimeoutMs: 2000,
    });
    publisher.start();
  });
  after(async () => {
    await publisher?.close();
    await nats?.dispose();
  });

  const op = (): ReturnType<typeof createSigner> => createSigner(nats.keys.operator.seed);

  /** The next account JWT: strictly later iat, like the authority builds them. */
  function account(signingKeys: string[], revocations: Record<string, number> = {}): { jwt: string; seq: number } {
    iat = Math.max(iat + 1, Math.floor(Date.now() / 1000));
    const jwt = buildAccountJwt({
      operator: op(),
      accountPublicKey: nats.keys.account.publicKey,
      name: nats.keys.account.name,
      signingKeys,
      revocations: new Map(Object.entries(revocations)),
      iatSeconds: iat,
    });
    return { jwt, seq: ++seq };
  }

  function user(opts: { seconds?: number; pub?: string[]; sub?: string[]; signingSeed?: string } = {}): {
    publicKey: string;
    seed: string;
    jwt: string;
    exp: number;
  } {
    const u = generateNkey('user');
    const expiresAtMs = Date.now() + (opts.seconds ?? 60) * 1000;
    const jwt = issueUserJwt({
      account: nats.keys.account.publicKey,
      signingKey: opts.signingSeed ?? nats.keys.signingKey.seed,
      userPublicKey: u.publicKey,
      name: 'corp:test',
      expiresAtMs,
      pub: opts.pub ?? ['ids.default.1.>'],
      sub: opts.sub ?? ['ids.default.>', '_INBOX.>'],
      tags: ['pool:default', 'node:1'],
    });
    return { ...u, jwt, exp: Math.floor(expiresAtMs / 1000) };
  }

  const sk1 = (): string => nats.keys.signingKey.publicKey;

  it('admits a user JWT by jwt+seed and by creds, and enforces its node-scoped publish permission', async () => {
    const listener = user({ pub: ['ids.default.2.>'] });
    const talker = user({ pub: ['ids.default.1.>'] });
    const l = await connectUser(nats.url, listener.jwt, listener.seed);
    const seen: string[] = [];
    l.subscribe('ids.default.>', {
      callback: (_e, m: Msg) => {
        seen.push(m.subject);
      },
    });
    await l.flush();
    const t = await connectCreds(nats.url, formatCreds(talker.jwt, talker.seed));
    t.publish('ids.default.1.hello', 'ok');
    t.publish('ids.default.2.forged', 'forged');
    await t.flush().catch(() => undefined);
    await sleep(300);
    assert.deepEqual(seen, ['ids.default.1.hello']);
    await t.close().catch(() => undefined);
    await l.close();
  });

  it('drops a silent user within a second of its JWT exp', async () => {
    const u = user({ seconds: 3 });
    const nc = await connectUser(nats.url, u.jwt, u.seed);
    await nc.closed();
    const late = Date.now() - u.exp * 1000;
    assert.ok(late >= -50, `dropped ${-late} ms before exp`);
    assert.ok(late <= 1200, `dropped ${late} ms after exp`);
    // The server counts whole seconds: during the second `exp` itself it may still admit (and at
    // once drop) the JWT. From the next second on it refuses it.
    await sleep((u.exp + 1) * 1000 - Date.now() + 50);
    await assert.rejects(connectUser(nats.url, u.jwt, u.seed), 'an expired JWT must not connect');
  });

  it('drops a connected user within 2 s of a pushed revocation', async () => {
    const u = user();
    const other = user();
    const nc = await connectUser(nats.url, u.jwt, u.seed);
    const bystander = await connectUser(nats.url, other.jwt, other.seed);
    await nc.flush();
    await sleep(1100); // a revocation covers JWTs issued at or before its second
    const t0 = Date.now();
    await publisher.publish(account([sk1()], { [u.publicKey]: Math.floor(Date.now() / 1000) }), 5000);
    assert.equal(await droppedWithin(nc, 2000 - (Date.now() - t0)), 'closed');
    await assert.rejects(connectUser(nats.url, u.jwt, u.seed));
    assert.equal(bystander.isClosed(), false);
    await bystander.close();
  });

  it('applies two quick successive changes in order, and never pushes an older one after a newer', async () => {
    const a = user();
    const b = user();
    const ca = await connectUser(nats.url, a.jwt, a.seed);
    const cb = await connectUser(nats.url, b.jwt, b.seed);
    await sleep(1100);
    const r = Math.floor(Date.now() / 1000);
    const first = account([sk1()], { [a.publicKey]: r });
    const second = account([sk1()], { [a.publicKey]: r, [b.publicKey]: r });
    await Promise.all([publisher.publish(first, 5000), publisher.publish(second, 5000)]);
    assert.equal(await droppedWithin(ca, 2000), 'closed');
    assert.equal(await droppedWithin(cb, 2000), 'closed');
    // An older JWT arriving late (a slow replica) is not pushed over the newer one.
    await publisher.publish(first, 5000);
    await assert.rejects(connectUser(nats.url, b.jwt, b.seed), 'b stays revoked');
    assert.equal(publisher.status().acceptedSeq, second.seq);
  });

  it('reports a JWT the server rejects, and stays usable', async () => {
    // (2.9 answers "jwt updated" even to a JWT of a foreign operator: only malformed ones get an error.)
    await assert.rejects(publisher.publish({ jwt: 'not a jwt', seq: ++seq }, 5000), PushRejected);
    assert.equal(publisher.ready(), false);
    await publisher.publish(account([sk1()]), 5000);
    assert.equal(publisher.ready(), true);
  });

  it('keeps a pushed account across a restart, and re-pushes the latest after reconnecting', async () => {
    const sk2 = generateNkey('account');
    const revoked = user();
    await sleep(1100);
    await publisher.publish(
      account([sk1(), sk2.publicKey], { [revoked.publicKey]: Math.floor(Date.now() / 1000) }),
      5000,
    );
    const withSk2 = user({ signingSeed: sk2.seed });
    (await connectUser(nats.url, withSk2.jwt, withSk2.seed)).close().catch(() => undefined);

    // Restart with the resolver's dir intact: the pushed JWT, not the preloaded one, is in force.
    await publisher.close();
    await nats.stop();
    await nats.restart();
    const nc = await connectUser(nats.url, withSk2.jwt, withSk2.seed);
    await nc.close();
    await assert.rejects(connectUser(nats.url, revoked.jwt, revoked.seed), 'the revocation survived the restart');

    // A server that lost its resolver dir gets the latest again from a connected publisher.
    publisher = new AccountPublisher({ servers: [nats.url], systemCreds: nats.keys.systemCreds, retryDelayMs: 200 });
    publisher.start();
    await publisher.publish(account([sk1(), sk2.publicKey]), 5000);
    await nats.stop();
    const jwtDir = path.join(nats.dir, 'jwt');
    for (const f of readdirSync(jwtDir)) rmSync(path.join(jwtDir, f), { force: true });
    await nats.restart();
    await waitFor('the publisher to re-push after reconnecting', async () => {
      const c = await connectUser(nats.url, withSk2.jwt, withSk2.seed);
      await c.close();
      return true;
    });
    assert.equal(publisher.ready(), true);
  });
});

describe('AccountPublisher before the server is up', () => {
  it('is not ready, times out a push, and delivers it once the server starts', async () => {
    const dir = tempDir('late').dir;
    await initNats(dir);
    const keys = await loadNatsKeys(dir);
    const port = await freePort();
    const publisher = new AccountPublisher({
      servers: [`nats://127.0.0.1:${port}`],
      systemCreds: keys.systemCreds,
      retryDelayMs: 100,
    });
    publisher.start();
    let nats: TestNats | undefined;
    try {
      const sk2 = generateNkey('account');
      const v = {
        jwt: buildAccountJwt({
          operator: createSigner(keys.operator.seed),
          accountPublicKey: keys.account.publicKey,
          name: keys.account.name,
          signingKeys: [keys.signingKey.publicKey, sk2.publicKey],
          revocations: new Map(),
          iatSeconds: Math.floor(Date.now() / 1000) + 1,
        }),
        seq: 1,
      };
      await assert.rejects(publisher.publish(v, 300), PushTimeout);
      assert.equal(publisher.ready(), false);
      const delivered = publisher.publish(v);
      nats = await startNats({ dir, port });
      await delivered;
      assert.equal(publisher.ready(), true);
      const u = generateNkey('user');
      const jwt = issueUserJwt({
        account: keys.account.publicKey,
        signingKey: sk2.seed,
        userPublicKey: u.publicKey,
        name: 'late',
        expiresAtMs: Date.now() + 10_000,
        pub: [],
        sub: [],
        tags: [],
      });
      await (await connectUser(nats.url, jwt, u.seed)).close();
    } finally {
      await publisher.close();
      await nats?.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
