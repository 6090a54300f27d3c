import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run, tempDir } from './helpers.js';

describe('snowgate init', () => {
  it('writes the NATS keys and server config, then refuses to overwrite them with exit 2', async (t) => {
    const out = path.join(tempDir('cli', t).dir, 'nats');
    const r = await run(['init', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nats-server -c \S+nats-server\.conf/);
    assert.ok(statSync(path.join(out, 'nats-server.conf')).isFile());

    const again = await run(['init', '--out', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /--out/);
    assert.match(again.stderr, new RegExp(out.replaceAll('/', '\\/')));
    assert.equal(again.stderr.trim().split('\n').length, 1);
  });
});
