// Which nats-server `snowgate dev` runs, and so which mode: 2.10+ from SNOWGATE_NATS_SERVER_210 (or
// the cached one) with the auth callout, else the first on PATH.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { hasCallout, onPath, pickNatsServer } from '../../src/cli/dev-nats.js';
import { natsServer210 } from '../nats/nats210.js';

describe('snowgate dev: which nats-server', () => {
  it('knows which versions have the auth callout', () => {
    assert.deepEqual(['2.9.10', '2.10.0', '2.10.27', '2.11.1', '3.0.0', '1.4.1'].map(hasCallout), [
      false,
      true,
      true,
      true,
      true,
      false,
    ]);
  });

  it('takes SNOWGATE_NATS_SERVER_210 when it is 2.10+, else what PATH has', () => {
    const bin = natsServer210();
    const picked = pickNatsServer({
      ...process.env,
      SNOWGATE_NATS_SERVER_210: bin,
      SNOWGATE_CACHE_DIR: '/nonexistent',
    });
    assert.equal(picked?.bin, bin);
    assert.ok(picked && hasCallout(picked.version));
    const path = onPath('nats-server');
    const fallback = pickNatsServer({
      ...process.env,
      SNOWGATE_NATS_SERVER_210: '/nonexistent',
      SNOWGATE_CACHE_DIR: '/nonexistent',
    });
    assert.equal(fallback?.bin, path);
    if (path) assert.ok(execFileSync(path, ['--version'], { encoding: 'utf8' }).includes(fallback!.version));
  });
});
