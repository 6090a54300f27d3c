import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, run, start, tempDir, waitFor } from './helpers.js';

function config(dir: string, port: number): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port },
    store: { kind: 'sqlite', path: path.join(dir, 'snowgate.db') },
    lease: { ttl: '60s', maxClockSkew: '1s' },
    pools: [
      { name: 'default', epoch: '2024-01-01T00:00:00Z', layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 } },
    ],
  };
}

describe('snowgate serve', () => {
  it('refuses a configuration with an unknown key, exit 2 naming it', async (t) => {
    const dir = tempDir('cli', t).dir;
    const cfg = config(dir, 0) as { lease: Record<string, unknown> };
    cfg.lease.tll = '10s';
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(cfg));
    const r = await run(['serve', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /lease\.tll/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('refuses an impossible layout and an unreadable file with exit 2', async (t) => {
    const dir = tempDir('cli', t).dir;
    const cfg = config(dir, 0) as { pools: { layout: unknown }[] };
    cfg.pools[0]!.layout = { timestampBits: 42, nodeBits: 12, sequenceBits: 12 };
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, JSON.stringify(cfg));
    const r = await run(['serve', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /layout/);
    assert.equal((await run(['serve', '--config', path.join(dir, 'missing.yaml')])).code, 2);
  });

  it('without --config, needs config/snowgate.yaml in the working folder', async (t) => {
    const r = await run(['serve'], { cwd: tempDir('cli', t).dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config\/snowgate\.yaml/);
  });

  it('serves until SIGTERM, then exits 0', async (t) => {
    const dir = tempDir('cli', t).dir;
    const port = await freePort();
    const file = path.join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ ...config(dir, port), log: { level: 'silent' } }));
    const p = start(['serve', '--config', file]);
    t.after(() => p.child.kill('SIGKILL'));
    await waitFor(
      'healthz',
      () =>
        fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      15_000,
    );
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0, p.stderr());
  });
});
