// `snowgate init --auth-callout` (issue 10 slice 1): the AUTH account, callout user, xkey and
// sentinel it writes, private at rest, and a nats-server.conf 2.10 runs from unchanged, handing a
// sentinel-plus-token connect to the callout user.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from '@nats-io/jwt';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { resolveConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main.js';
import { initNats } from '../../src/nats/init.js';
import { CALLOUT_CREDS_FILE, loadNatsKeys, SENTINEL_CREDS_FILE, type NatsKeys } from '../../src/nats/keys.js';
import { startNatsServer, type TestNatsServer } from '../../src/testing/nats-server.js';
import { tempDir, waitFor } from './harness.js';
import { natsServer210 } from './nats210.js';

const te = new TextEncoder();

describe('snowgate init --auth-callout', () => {
  let dir: string;
  let keys: NatsKeys;
  let server: TestNatsServer;
  const closing: NatsConnection[] = [];
  before(async () => {
    dir = tempDir('callout-init').dir;
    await initNats(dir, { authCallout: true });
    keys = await loadNatsKeys(dir);
    server = await startNatsServer({ dir, bin: natsServer210() });
  });
  after(async () => {
    for (const nc of closing) await nc.close().catch(() => undefined);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the callout keys 0600 beside the usual ones; plain init writes none of them', async () => {
    for (const f of readdirSync(dir).filter((f) => f.includes('.'))) {
      assert.equal(statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
    }
    assert.ok(readdirSync(dir).includes(CALLOUT_CREDS_FILE) && readdirSync(dir).includes(SENTINEL_CREDS_FILE));
    const c = keys.authCallout!;
    const auth = decode<{ authorization: { auth_users: string[]; allowed_accounts: string[]; xkey: string } }>(
      c.account.jwt,
    );
    assert.equal(auth.iss, keys.operator.publicKey);
    assert.deepEqual(auth.nats.authorization, {
      auth_users: [c.user.publicKey],
      allowed_accounts: [keys.account.publicKey],
      xkey: c.xkey.publicKey,
    });
    const sentinel = decode<{ pub: unknown; sub: unknown }>(c.sentinel.jwt);
    assert.equal(sentinel.iss, c.account.publicKey);
    assert.deepEqual([sentinel.nats.pub, sentinel.nats.sub], [{ deny: ['>'] }, { deny: ['>'] }]);
    assert.ok(readFileSync(path.join(dir, 'nats-server.conf'), 'utf8').includes(c.account.publicKey));

    const plain = tempDir('plain-init').dir;
    try {
      const { files } = await initNats(plain);
      assert.deepEqual(files.map((f) => path.basename(f)).sort(), [
        'key-encryption.key',
        'nats-server.conf',
        'snowgate-nats.json',
        'sys.creds',
      ]);
      const k = await loadNatsKeys(plain);
      assert.equal(k.authCallout, undefined);
      assert.ok(!readFileSync(path.join(plain, 'nats-server.conf'), 'utf8').includes('AUTH'));
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('serve refuses nats.authCallout on a dir made without --auth-callout, naming the key', async () => {
    const plain = tempDir('plain-serve').dir;
    try {
      await initNats(path.join(plain, 'nats'));
      const config = resolveConfig({
        server: { host: '127.0.0.1', port: 0 },
        store: { kind: 'sqlite', path: path.join(plain, 'db.sqlite') },
        pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z' }],
        nats: { dir: path.join(plain, 'nats'), servers: [server.url], authCallout: true },
        log: { level: 'silent' },
      });
      await assert.rejects(startServer(config), /nats\.authCallout: .* holds no callout keys; .*--auth-callout/);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('runs 2.10 from the written conf: the callout user connects and receives sealed requests', async () => {
    const callout = await connect({
      servers: server.url,
      authenticator: credsAuthenticator(te.encode(readFileSync(path.join(dir, CALLOUT_CREDS_FILE), 'utf8'))),
    });
    closing.push(callout);
    const requests: Msg[] = [];
    callout.subscribe('$SYS.REQ.USER.AUTH', { callback: (_e, m) => void requests.push(m) });
    await callout.flush();
    // Nobody answers: the connect fails, but the request reached the callout user.
    await assert.rejects(
      connect({
        servers: server.url,
        authenticator: credsAuthenticator(te.encode(readFileSync(path.join(dir, SENTINEL_CREDS_FILE), 'utf8'))),
        token: 'a-token',
        reconnect: false,
        timeout: 3000,
      }),
    );
    await waitFor('the authorization request', () => requests.length >= 1);
    assert.ok(requests[0]!.headers?.get('Nats-Server-Xkey'), 'sealed for the xkey');
  });
});
