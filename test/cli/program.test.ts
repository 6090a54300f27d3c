import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from './helpers.js';

describe('snowgate command line', () => {
  it('lists its commands in --help and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const c of ['serve', 'dev', 'init', 'lease', 'decode', 'admin'])
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  });

  it('answers --help on every command and --version', async () => {
    for (const c of [['serve'], ['dev'], ['init'], ['lease'], ['decode'], ['admin'], ['admin', 'leases']]) {
      const r = await run([...c, '--help']);
      assert.equal(r.code, 0, `${c.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /Usage: snowgate/);
    }
    const v = await run(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  });

  it('refuses an unknown command with exit 2 and one line naming it', async () => {
    const r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /frobnicate/);
  });

  it('refuses an unknown flag with exit 2 naming it', async () => {
    const r = await run(['decode', '1', '--no-such-flag']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--no-such-flag/);
  });

  it('refuses a missing argument or required flag with exit 2', async () => {
    assert.equal((await run(['decode'])).code, 2);
    const r = await run(['init']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out/);
    const l = await run(['lease', '--token-file', 'x']);
    assert.equal(l.code, 2);
    assert.match(l.stderr, /--registry/);
  });
});

describe('snowgate decode', () => {
  const epoch = '2024-01-01T00:00:00Z';

  it('decodes an ID offline', async () => {
    const id = ((1000n << 22n) | (5n << 12n) | 7n).toString();
    const r = await run(['decode', id, '--epoch', epoch, '--layout', '41/10/12']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { id, timestamp: '2024-01-01T00:00:01.000Z', node: 5, sequence: 7 });
  });

  it('keeps all 64 bits of a large ID', async () => {
    const id = ((2n ** 41n - 1n) << 22n) | (1023n << 12n) | 4095n;
    const r = await run(['decode', id.toString(), '--epoch', epoch]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { id: string; node: number; sequence: number };
    assert.equal(out.id, id.toString());
    assert.equal(out.node, 1023);
    assert.equal(out.sequence, 4095);
  });

  it('refuses --pool with --epoch (exit 2) rather than ignoring it: the layout then comes from the flags', async () => {
    const r = await run(['decode', '1', '--epoch', epoch, '--pool', 'small']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--pool/);
    assert.equal(r.stdout, '');
  });

  it('refuses a bad layout, a bad epoch or a bad ID with exit 2 naming it', async () => {
    const layout = await run(['decode', '1', '--epoch', epoch, '--layout', '42/12/12']);
    assert.equal(layout.code, 2);
    assert.match(layout.stderr, /--layout/);
    assert.equal((await run(['decode', '1', '--epoch', epoch, '--layout', '41-10-12'])).code, 2);
    const ep = await run(['decode', '1', '--epoch', 'yesterday']);
    assert.equal(ep.code, 2);
    assert.match(ep.stderr, /--epoch/);
    for (const bad of ['-1', '1e3', '0x10', 'abc']) {
      const r = await run(['decode', bad, '--epoch', epoch]);
      assert.equal(r.code, 2, bad);
    }
    // Wider than the 63 bits the layout uses.
    assert.equal((await run(['decode', (2n ** 63n).toString(), '--epoch', epoch])).code, 2);
  });

  it('needs a layout source: --epoch or --registry', async () => {
    const r = await run(['decode', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--epoch/);
    assert.equal((await run(['decode', '1', '--epoch', epoch, '--registry', 'http://127.0.0.1:1'])).code, 2);
  });
});
