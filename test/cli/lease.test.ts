import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import { leaseBody, problem, startFakeRegistry, type FakeRegistry, type Seen } from './fake-registry.js';
import { run, start, tempDir, waitFor } from './helpers.js';

const JWT_RE = /-----BEGIN NATS USER JWT-----\n(.+)\n------END NATS USER JWT------/;
const SEED_RE = /-----BEGIN USER NKEY SEED-----\n(.+)\n------END USER NKEY SEED------/;

function creds(file: string): { jwt: string; seed: string } {
  const text = readFileSync(file, 'utf8');
  const jwt = JWT_RE.exec(text)?.[1];
  const seed = SEED_RE.exec(text)?.[1];
  // A reader must only ever see a whole file: a torn write fails here.
  assert.ok(jwt && seed, `incomplete creds file:\n${text}`);
  return { jwt, seed };
}

const renewals = (reg: FakeRegistry, id: string): Seen[] =>
  reg.seen.filter((s) => s.method === 'POST' && s.path === `/v1/leases/${id}/renew`);

describe('snowgate lease', () => {
  let reg: FakeRegistry;
  before(async () => {
    reg = await startFakeRegistry();
  });
  after(() => reg.close());

  it('--once prints the grant as one JSON line and neither renews nor releases', async (t) => {
    const dir = tempDir('cli', t).dir;
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'once-token\n');
    reg.on((r) =>
      r.auth === 'Bearer once-token' && r.path === '/v1/leases'
        ? { status: 201, body: leaseBody({ id: 'once-1', renewMs: 50, ttlMs: 1000 }) }
        : undefined,
    );
    const r = await run([
      'lease',
      '--registry',
      reg.url,
      '--token-file',
      tokenFile,
      '--pool',
      'default',
      '--instance',
      'pod-1',
      '--node',
      '5',
      '--once',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { lease: { id: string } };
    assert.equal(out.lease.id, 'once-1');
    const sent = reg.seen.find((s) => s.auth === 'Bearer once-token');
    assert.deepEqual(sent?.body, { pool: 'default', instance: 'pod-1', node: 5 });
    await new Promise((ok) => setTimeout(ok, 200));
    assert.equal(renewals(reg, 'once-1').length, 0);
    assert.ok(!reg.seen.some((s) => s.method === 'DELETE' && s.path === '/v1/leases/once-1'));
  });

  it("prints the problem's title, detail and code and exits 1 on an HTTP error", async () => {
    reg.on((r) =>
      r.auth === 'Bearer denied' ? problem(403, 'forbidden', 'pool default is not allowed to issuer corp') : undefined,
    );
    const r = await run(['lease', '--registry', reg.url, '--token-cmd', 'echo denied', '--once']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /403/);
    assert.match(r.stderr, /forbidden/);
    assert.match(r.stderr, /not allowed to issuer corp/);
  });

  it('refuses a bad --node or --instance, or both token flags, with exit 2', async () => {
    const base = ['lease', '--registry', reg.url, '--token-cmd', 'echo x', '--once'];
    assert.equal((await run([...base, '--node', '-1'])).code, 2);
    assert.equal((await run([...base, '--node', '1.5'])).code, 2);
    assert.equal((await run([...base, '--instance', 'has space'])).code, 2);
    assert.equal((await run([...base, '--token-file', 'f'])).code, 2);
    assert.equal((await run(['lease', '--registry', reg.url, '--once'])).code, 2);
    assert.equal((await run([...base, '--creds-file', '/nonexistent/dir/x.creds'])).code, 2);
  });

  it('refuses a --creds-file that is a directory with exit 2, before asking for a lease', async (t) => {
    const dir = tempDir('cli', t).dir;
    const before = reg.seen.length;
    const r = await run(['lease', '--registry', reg.url, '--token-cmd', 'echo dir', '--creds-file', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--creds-file/);
    assert.equal(reg.seen.length, before, 'no request made');
  });

  it('releases the grant and exits 1 when the creds file cannot be written after it', async (t) => {
    const dir = tempDir('cli', t).dir;
    const credsFile = path.join(dir, 'nats.creds');
    reg.on((r) => {
      if (r.auth !== 'Bearer cw-grant') return undefined;
      if (r.method === 'POST' && r.path === '/v1/leases') {
        // The path turns into a folder between the start-up check and the write.
        mkdirSync(credsFile);
        return { status: 201, body: leaseBody({ id: 'cw-1', renewMs: 50, ttlMs: 5000, jwt: 'jwt-0' }) };
      }
      if (r.method === 'DELETE') return { status: 204 };
      return undefined;
    });
    const r = await run(['lease', '--registry', reg.url, '--token-cmd', 'echo cw-grant', '--creds-file', credsFile]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'an unusable lease is not printed');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--creds-file .*nats\.creds.*released lease cw-1/);
    assert.ok(reg.seen.some((s) => s.method === 'DELETE' && s.path === '/v1/leases/cw-1'));
    assert.deepEqual(readdirSync(dir), ['nats.creds'], 'no temporary files left behind');
  });

  it('releases and exits 1, without acquiring anew, when a renewal cannot write the creds file', async (t) => {
    const dir = tempDir('cli', t).dir;
    const credsFile = path.join(dir, 'nats.creds');
    let grants = 0;
    reg.on((r) => {
      if (r.auth !== 'Bearer cw-renew') return undefined;
      if (r.method === 'POST' && r.path === '/v1/leases') {
        return { status: 201, body: leaseBody({ id: `cwr-${++grants}`, renewMs: 50, ttlMs: 5000, jwt: 'jwt-0' }) };
      }
      if (r.method === 'POST' && r.path === '/v1/leases/cwr-1/renew') {
        rmSync(credsFile);
        mkdirSync(credsFile);
        return { status: 200, body: leaseBody({ id: 'cwr-1', renewMs: 50, ttlMs: 5000, jwt: 'jwt-1' }) };
      }
      if (r.method === 'DELETE') return { status: 204 };
      return undefined;
    });
    const p = start(['lease', '--registry', reg.url, '--token-cmd', 'echo cw-renew', '--creds-file', credsFile]);
    t.after(() => p.child.kill('SIGKILL'));
    assert.equal(await p.exit, 1, p.stderr());
    assert.equal(grants, 1);
    assert.match(p.stderr(), /snowgate: --creds-file .*released lease cwr-1\n$/);
    assert.ok(reg.seen.some((s) => s.method === 'DELETE' && s.path === '/v1/leases/cwr-1'));
  });

  it("refuses, and releases, a grant without the registry's now (no local clock stands in)", async (t) => {
    reg.on((r) => {
      if (r.auth !== 'Bearer no-now') return undefined;
      if (r.method === 'POST' && r.path === '/v1/leases') {
        const body = leaseBody({ id: 'nonow-1', renewMs: 50, ttlMs: 5000 });
        delete body.now;
        return { status: 201, body };
      }
      if (r.method === 'DELETE') return { status: 204 };
      return undefined;
    });
    const p = start(['lease', '--registry', reg.url, '--token-cmd', 'echo no-now']);
    t.after(() => p.child.kill('SIGKILL'));
    assert.equal(await p.exit, 1);
    assert.match(p.stderr(), /now/);
    assert.match(p.stderr(), /released lease nonow-1/);
    assert.equal(reg.seen.filter((s) => s.auth === 'Bearer no-now' && s.path === '/v1/leases').length, 1);
  });

  it('renews at renewAfter with a fresh token, rewrites the creds file atomically, releases on SIGTERM', async (t) => {
    const dir = tempDir('cli', t).dir;
    const tokenFile = path.join(dir, 'token');
    const credsFile = path.join(dir, 'nats.creds');
    writeFileSync(tokenFile, 'keep-1');
    let n = 0;
    let userKey: string | undefined;
    reg.on((r) => {
      if (!r.auth?.startsWith('Bearer keep-')) return undefined;
      if (r.method === 'POST' && r.path === '/v1/leases') {
        userKey = (r.body as { natsPublicKey?: string }).natsPublicKey;
        return { status: 201, body: leaseBody({ id: 'keep-1', renewMs: 150, ttlMs: 5000, jwt: 'jwt-0' }) };
      }
      if (r.method === 'POST' && r.path === '/v1/leases/keep-1/renew') {
        return { status: 200, body: leaseBody({ id: 'keep-1', renewMs: 150, ttlMs: 5000, jwt: `jwt-${++n}` }) };
      }
      if (r.method === 'DELETE' && r.path === '/v1/leases/keep-1') return { status: 204 };
      return undefined;
    });
    const p = start([
      'lease',
      '--registry',
      reg.url,
      '--token-file',
      tokenFile,
      '--creds-file',
      credsFile,
      '--instance',
      'k',
    ]);
    t.after(() => p.child.kill('SIGKILL'));

    const line = await waitFor('the grant', () => p.stdout().includes('\n') && p.stdout());
    assert.equal((JSON.parse(line) as { lease: { id: string } }).lease.id, 'keep-1');
    const first = creds(credsFile);
    assert.equal(first.jwt, 'jwt-0');
    // The seed was made here; the registry only ever saw its public key.
    assert.match(userKey ?? '', /^U[A-Z2-7]{55}$/);
    assert.equal(fromSeed(new TextEncoder().encode(first.seed)).getPublicKey(), userKey);
    assert.equal(statSync(credsFile).mode & 0o777, 0o600);
    const firstInode = statSync(credsFile).ino;

    // Read continuously while renewals replace the file: never torn, never missing.
    let reads = 0;
    const reader = setInterval(() => {
      creds(credsFile);
      reads++;
    }, 2);
    t.after(() => clearInterval(reader));

    writeFileSync(tokenFile, 'keep-2');
    await waitFor('a renewal with the new token', () =>
      renewals(reg, 'keep-1').some((s) => s.auth === 'Bearer keep-2'),
    );
    await waitFor('three renewals', () => n >= 3 && creds(credsFile).jwt === `jwt-${n}`);
    clearInterval(reader);
    assert.ok(reads > 10);
    const later = creds(credsFile);
    assert.equal(later.seed, first.seed, 'renewals keep the seed');
    assert.notEqual(statSync(credsFile).ino, firstInode, 'replaced by rename, not rewritten in place');
    assert.equal(statSync(credsFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['nats.creds', 'token'], 'no temporary files left behind');
    assert.equal(p.stdout().trim().split('\n').length, 1, 'renewals print nothing on stdout');

    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0, p.stderr());
    const del = reg.seen.filter((s) => s.method === 'DELETE' && s.path === '/v1/leases/keep-1');
    assert.equal(del.length, 1);
    assert.equal(del[0]?.auth, 'Bearer keep-2');
  });

  it('retries a failed renewal, and acquires anew when the lease is gone (410)', async (t) => {
    let grants = 0;
    let renews = 0;
    reg.on((r) => {
      if (r.auth !== 'Bearer gone') return undefined;
      if (r.method === 'POST' && r.path === '/v1/leases') {
        return { status: 201, body: leaseBody({ id: `gone-${++grants}`, renewMs: 100, ttlMs: 5000 }) };
      }
      if (r.method === 'POST' && r.path === '/v1/leases/gone-1/renew') {
        renews++;
        if (renews === 1) return problem(503, 'unavailable', 'store is busy');
        if (renews === 2) return { status: 200, body: leaseBody({ id: 'gone-1', renewMs: 100, ttlMs: 5000 }) };
        return problem(410, 'lease_gone', 'lease gone-1 was revoked');
      }
      if (r.method === 'POST' && r.path === '/v1/leases/gone-2/renew') {
        return { status: 200, body: leaseBody({ id: 'gone-2', renewMs: 100, ttlMs: 5000 }) };
      }
      if (r.method === 'DELETE') return { status: 204 };
      return undefined;
    });
    const p = start(['lease', '--registry', reg.url, '--token-cmd', 'echo gone']);
    t.after(() => p.child.kill('SIGKILL'));
    await waitFor('a second grant', () => p.stdout().trim().split('\n').length === 2);
    const ids = p
      .stdout()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { lease: { id: string } }).lease.id);
    assert.deepEqual(ids, ['gone-1', 'gone-2']);
    assert.match(p.stderr(), /store is busy/);
    p.child.kill('SIGINT');
    assert.equal(await p.exit, 0, p.stderr());
    assert.ok(reg.seen.some((s) => s.method === 'DELETE' && s.path === '/v1/leases/gone-2'));
    assert.ok(!reg.seen.some((s) => s.method === 'DELETE' && s.path === '/v1/leases/gone-1'));
  });

  it('gives way with exit 1 when its lease was superseded by another holder', async (t) => {
    reg.on((r) => {
      if (r.auth !== 'Bearer sup') return undefined;
      if (r.path === '/v1/leases') return { status: 201, body: leaseBody({ id: 'sup-1', renewMs: 50, ttlMs: 5000 }) };
      return problem(410, 'lease_gone', 'lease sup-1 ended', { endReason: 'superseded' });
    });
    const p = start(['lease', '--registry', reg.url, '--token-cmd', 'echo sup', '--instance', 'twin']);
    t.after(() => p.child.kill('SIGKILL'));
    assert.equal(await p.exit, 1);
    assert.match(p.stderr(), /superseded/);
    assert.equal(reg.seen.filter((s) => s.auth === 'Bearer sup' && s.path === '/v1/leases').length, 1);
  });
});
