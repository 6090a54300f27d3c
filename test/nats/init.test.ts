// `snowgate init`: private key files, no overwriting, and a config nats-server runs from as is.
import assert from 'node:assert/strict';
import { statSync, readFileSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from '@nats-io/jwt';
import { initNats, InitRefused } from '../../src/nats/init.js';
import { loadNatsKeys, InvalidNatsKeys, MANIFEST_FILE } from '../../src/nats/keys.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { issueUserJwt } from '../../src/nats/user-jwt.js';
import { connectCreds, connectUser, startNats, tempDir, type TestNats } from './harness.js';

describe('initNats', () => {
  it('writes private files, refuses a second init naming the file, and loads back', async () => {
    const dir = path.join(tempDir('init').dir, 'nested', 'nats');
    try {
      const { files } = await initNats(dir);
      assert.deepEqual(files.map((f) => path.basename(f)).sort(), [
        'key-encryption.key',
        'nats-server.conf',
        'snowgate-nats.json',
        'sys.creds',
      ]);
      for (const f of files) {
        assert.ok(path.isAbsolute(f));
        assert.equal(statSync(f).mode & 0o777, 0o600, f);
      }
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const manifest = readFileSync(path.join(dir, MANIFEST_FILE), 'utf8');

      await assert.rejects(initNats(dir), (e: unknown) => {
        assert.ok(e instanceof InitRefused);
        assert.equal(e.file, path.join(dir, MANIFEST_FILE));
        return true;
      });
      assert.equal(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'), manifest, 'never overwrites');

      // Any one of its files is enough to refuse, and nothing is written then.
      rmSync(path.join(dir, MANIFEST_FILE));
      await assert.rejects(initNats(dir), (e: unknown) => e instanceof InitRefused && e.file.endsWith('sys.creds'));
      assert.ok(!readdirSync(dir).includes(MANIFEST_FILE));
      writeFileSync(path.join(dir, MANIFEST_FILE), manifest, { mode: 0o600 });

      const keys = await loadNatsKeys(dir);
      assert.equal(keys.dir, dir);
      assert.equal(decode(keys.operator.jwt).sub, keys.operator.publicKey);
      assert.equal(
        decode<{ system_account: string }>(keys.operator.jwt).nats.system_account,
        keys.systemAccount.publicKey,
      );
      assert.equal(decode(keys.account.jwt).iss, keys.operator.publicKey);
      assert.deepEqual(decode<{ signing_keys: string[] }>(keys.account.jwt).nats.signing_keys, [
        keys.signingKey.publicKey,
      ]);
      assert.match(keys.systemCreds, /-----BEGIN NATS USER JWT-----/);

      const conf = readFileSync(path.join(dir, 'nats-server.conf'), 'utf8');
      assert.match(conf, /resolver: \{\s*type: full/);
      assert.ok(conf.includes(`dir: "${path.join(dir, 'jwt')}"`));
      assert.ok(conf.includes(`store_dir: "${path.join(dir, 'jetstream')}"`));
      assert.ok(conf.includes(`system_account: "${keys.systemAccount.publicKey}"`));
      assert.doesNotMatch(conf, /^\s*(port|listen|http|monitor_port|cluster|leafnodes?|host)\s*[:=]/m);
    } finally {
      rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
    }
  });

  it('refuses a manifest whose seeds do not match their keys', async () => {
    const dir = tempDir('bad').dir;
    try {
      await initNats(dir);
      const file = path.join(dir, MANIFEST_FILE);
      const m = JSON.parse(readFileSync(file, 'utf8')) as { signingKey: { seed: string } };
      m.signingKey.seed = generateNkey('account').seed;
      writeFileSync(file, JSON.stringify(m));
      await assert.rejects(loadNatsKeys(dir), InvalidNatsKeys);
      await assert.rejects(loadNatsKeys(path.join(dir, 'nope')), /snowgate init/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nats-server from the init config', () => {
  let nats: TestNats;
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    await nats?.dispose();
  });

  it('admits a user of the application account, with JetStream enabled', async () => {
    const u = generateNkey('user');
    const jwt = issueUserJwt({
      account: nats.keys.account.publicKey,
      signingKey: nats.keys.signingKey.seed,
      userPublicKey: u.publicKey,
      name: 'test',
      expiresAtMs: Date.now() + 60_000,
      pub: ['$JS.API.>'],
      sub: ['_INBOX.>'],
      tags: [],
    });
    const nc = await connectUser(nats.url, jwt, u.seed);
    const info = (await nc.request('$JS.API.INFO', '', { timeout: 5000 })).json<{ type: string; error?: unknown }>();
    assert.equal(info.error, undefined, JSON.stringify(info));
    assert.equal(info.type, 'io.nats.jetstream.api.v1.account_info_response');
    await nc.close();
  });

  it('admits the system user from sys.creds', async () => {
    const nc = await connectCreds(nats.url, nats.keys.systemCreds);
    await nc.flush();
    await nc.close();
  });
});
