import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { problem, startFakeRegistry, type FakeRegistry, type Seen } from './fake-registry.js';
import { run, tempDir } from './helpers.js';

describe('snowgate admin', () => {
  let reg: FakeRegistry;
  const last = (): Seen => reg.seen.at(-1)!;
  before(async () => {
    reg = await startFakeRegistry();
    reg.on((r) => {
      if (r.auth !== 'Bearer admin-tok') return problem(403, 'forbidden', 'not an admin');
      if (r.method === 'GET' && r.path === '/v1/admin/leases') {
        return { status: 200, body: [{ id: 'l1', principal: { issuer: 'corp', subject: 'svc-a' }, state: 'active' }] };
      }
      if (r.method === 'DELETE') return { status: 204 };
      return { status: 200, body: { ok: true, path: r.path } };
    });
  });
  after(() => reg.close());

  const admin = (...args: string[]): ReturnType<typeof run> =>
    run(['admin', '--registry', reg.url, '--token', 'admin-tok', ...args]);

  it('lists leases for the bare group name, as pretty JSON', async () => {
    const r = await admin('leases');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /svc-a/);
    assert.match(r.stdout, /\n {2}\{/);
    assert.equal(last().path, '/v1/admin/leases');
    assert.equal(last().auth, 'Bearer admin-tok');
  });

  it('passes list filters as query parameters, and takes the flags after the group too', async () => {
    const r = await run([
      'admin',
      'leases',
      '--state',
      'ended',
      '--pool',
      'p1',
      '--registry',
      reg.url,
      '--token',
      'admin-tok',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(last().query.get('state'), 'ended');
    assert.equal(last().query.get('pool'), 'p1');
    assert.equal((await admin('leases', '--state', 'maybe')).code, 2);
  });

  it('reads --registry and --token from SNOWGATE_REGISTRY and SNOWGATE_TOKEN', async () => {
    const r = await run(['admin', 'keys'], { env: { SNOWGATE_REGISTRY: reg.url, SNOWGATE_TOKEN: 'admin-tok' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(last().path, '/v1/admin/keys');
    const missing = await run(['admin', 'keys'], { env: { SNOWGATE_REGISTRY: reg.url, SNOWGATE_TOKEN: undefined } });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--token/);
  });

  it('reads the token from --token-file, which wins over SNOWGATE_TOKEN', async (t) => {
    const file = path.join(tempDir('cli', t).dir, 'admin-token');
    writeFileSync(file, 'admin-tok\n');
    const r = await run(['admin', '--registry', reg.url, '--token-file', file, 'keys'], {
      env: { SNOWGATE_TOKEN: 'stale-tok' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(last().path, '/v1/admin/keys');
    assert.equal(last().auth, 'Bearer admin-tok');
    const after = await run(['admin', 'audit', '--registry', reg.url, '--token-file', file]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(last().auth, 'Bearer admin-tok');
  });

  it('refuses --token with --token-file (2), and fails (1) on an unreadable token file', async (t) => {
    const both = await admin('--token-file', 'f', 'keys');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--token-file/);
    const before = reg.seen.length;
    const missing = await run([
      'admin',
      '--registry',
      reg.url,
      '--token-file',
      path.join(tempDir('cli', t).dir, 'none'),
      'keys',
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--token-file/);
    assert.equal(reg.seen.length, before, 'no request made');
  });

  it('maps each action to its route', async () => {
    const cases: [string[], string, string, unknown][] = [
      [['mappings'], 'GET', '/v1/admin/mappings', undefined],
      [
        ['mappings', 'set', 'default', '7', '--issuer', 'corp', '--subject', 'svc-a', '--note', 'db'],
        'PUT',
        '/v1/admin/mappings/default/7',
        { issuer: 'corp', subject: 'svc-a', note: 'db' },
      ],
      [['mappings', 'delete', 'default', '7'], 'DELETE', '/v1/admin/mappings/default/7', undefined],
      [
        ['leases', 'revoke', 'a/b', '--reason', 'compromised'],
        'POST',
        '/v1/admin/leases/a%2Fb/revoke',
        { reason: 'compromised' },
      ],
      [
        ['leases', 'revoke-principal', '--issuer', 'corp', '--subject', 'svc-a'],
        'POST',
        '/v1/admin/principals/revoke',
        { issuer: 'corp', subject: 'svc-a' },
      ],
      [['keys', 'rotate'], 'POST', '/v1/admin/keys/rotate', {}],
      [['audit', '--after', '10', '--limit', '5'], 'GET', '/v1/admin/audit', undefined],
    ];
    for (const [args, method, route, body] of cases) {
      const r = await admin(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(last().method, method, args.join(' '));
      assert.equal(last().path, route, args.join(' '));
      assert.deepEqual(last().body, body, args.join(' '));
    }
    assert.equal(last().query.get('after'), '10');
    assert.equal(last().query.get('limit'), '5');
  });

  it('refuses bad arguments with 2 and reports HTTP errors with 1', async () => {
    assert.equal((await admin('mappings', 'set', 'default', 'seven', '--issuer', 'i', '--subject', 's')).code, 2);
    assert.equal((await admin('mappings', 'set', 'default', '7')).code, 2);
    assert.equal((await admin('audit', '--limit', '0')).code, 2);
    assert.equal((await admin('frobnicate')).code, 2);
    const r = await run(['admin', '--registry', reg.url, '--token', 'service-tok', 'leases']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /forbidden/);
  });
});
