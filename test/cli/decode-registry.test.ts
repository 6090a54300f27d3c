import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { run } from './helpers.js';

describe('snowgate decode --registry', () => {
  let reg: FakeRegistry;
  before(async () => {
    reg = await startFakeRegistry();
    reg.on((r) =>
      r.method === 'GET' && r.path === '/v1/pools'
        ? {
            status: 200,
            body: [
              {
                name: 'small',
                layout: { epoch: '2025-01-01T00:00:00.000Z', timestampBits: 40, nodeBits: 8, sequenceBits: 10 },
                nodes: { total: 256, leased: 0, pinned: 0, free: 256 },
              },
            ],
          }
        : undefined,
    );
  });
  after(() => reg.close());

  it("reads the pool's layout from the registry with the bearer token", async () => {
    const id = ((2000n << 18n) | (3n << 10n) | 9n).toString();
    const r = await run(['decode', id, '--registry', reg.url, '--pool', 'small', '--token', 'tok-1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      id,
      pool: 'small',
      timestamp: '2025-01-01T00:00:02.000Z',
      node: 3,
      sequence: 9,
    });
    assert.equal(reg.seen.at(-1)?.auth, 'Bearer tok-1');
  });

  it('names --pool when the registry has no such pool, and needs a token', async () => {
    const r = await run(['decode', '1', '--registry', reg.url, '--pool', 'nope', '--token', 't']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--pool/);
    assert.equal((await run(['decode', '1', '--registry', reg.url])).code, 2);
  });
});
