// Issue 7, finding 3, through `snowgate serve`: the database holds sealed seeds only, an init dir
// without its key-encryption key is refused at start (never run with seeds in the clear), and /readyz
// tells only an admin why a check fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { initNats } from '../../src/nats/init.js';
import { KEK_FILE } from '../../src/nats/keys.js';
import { ADMIN_TOKEN, baseConfig, BIN, call, freePort, serve, startIssuer, tempDir } from './harness.js';

describe('secrets at rest, through serve', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  const tmp = tempDir('secrets');
  before(async () => {
    issuer = await startIssuer(['svc-a']);
  });
  after(async () => {
    await issuer?.close();
    tmp.remove();
  });

  it('seals the seeds in its database, and says only to an admin why NATS is not ready', async () => {
    const natsDir = path.join(tmp.dir, 'nats');
    await initNats(natsDir);
    // No nats-server listens there: the NATS check fails.
    const config = baseConfig(await freePort(), tmp.dir, issuer.issuer, {
      nats: { dir: natsDir, servers: [`nats://127.0.0.1:${await freePort()}`] },
    });
    const reg = await serve(tmp.dir, config);
    try {
      const anon = await call(reg.url, 'GET', '/readyz', undefined);
      assert.equal(anon.status, 503);
      assert.deepEqual(anon.body.checks, { store: 'ok', nats: 'failing' });
      const admin = await call(reg.url, 'GET', '/readyz', ADMIN_TOKEN);
      assert.match(admin.body.checks.nats, /unreachable/);
    } finally {
      await reg.kill('SIGTERM');
    }
    const dbFile = path.join(tmp.dir, 'snowgate.db');
    assert.equal(statSync(dbFile).mode & 0o777, 0o600);
    const db = new Database(dbFile, { readonly: true });
    const { data } = db.prepare('SELECT data FROM nats_state').get() as { data: string };
    db.close();
    assert.doesNotMatch(data, /"seed":"S/);
    assert.match(data, /"seed":"sealed:v1:/);
  });

  it('refuses to start on an init dir without its key-encryption key, naming the fix', async () => {
    const dir = path.join(tmp.dir, 'old');
    const natsDir = path.join(dir, 'nats');
    await initNats(natsDir);
    rmSync(path.join(natsDir, KEK_FILE));
    const file = path.join(dir, 'snowgate.json');
    writeFileSync(
      file,
      JSON.stringify(
        baseConfig(await freePort(), dir, issuer.issuer, { nats: { dir: natsDir, servers: ['nats://127.0.0.1:1'] } }),
      ),
    );
    const r = spawnSync(process.execPath, [BIN, 'serve', '--config', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /nats\.keyEncryptionKeyFile: cannot read/);
    assert.match(r.stderr, /snowgate init --out .* --key-encryption-key/);
  });
});
