/**
 * DESIGN "Self-fencing", end to end: a registry that stops answering (SIGSTOP) cannot keep a
 * node minting. nextId() throws before the lease's expiresAt - maxClockSkew, and minting comes
 * back once the registry does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fenced, NodeLease } from '../../src/client/index.js';
import { baseConfig, freePort, serve, startIssuer, tempDir, type Serve } from './harness.js';

describe('a node cut off from its registry', () => {
  const tmp = tempDir('fence');
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let registry: Serve;
  before(async () => {
    issuer = await startIssuer(['svc-fence']);
    const port = await freePort();
    registry = await serve(
      tmp.dir,
      baseConfig(port, tmp.dir, issuer.issuer, { lease: { ttl: '4s', maxClockSkew: '500ms', maxPerPrincipal: 8 } }),
    );
  });
  after(async () => {
    registry.child.kill('SIGCONT');
    await registry.kill('SIGTERM');
    await issuer.close();
    tmp.remove();
  });

  it('stops minting before expiresAt - maxClockSkew, and mints again once the registry answers', async () => {
    const node = await NodeLease.acquire({
      registry: registry.url,
      token: () => issuer.token('svc-fence'),
      instance: 'fence-1',
      requestTimeoutMs: 2_000, // short, so retries go on while the registry is stopped; not so short a loaded machine trips it
    });
    const fenced: number[] = [];
    node.on('fenced', () => fenced.push(Date.now()));
    // Renewed if the registry wakes before the lease ran out there, acquired anew if after.
    const back = new Promise((ok) => (node.on('renewed', ok), node.on('acquired', ok)));
    try {
      node.nextId();
      registry.child.kill('SIGSTOP');
      const expiresAt = Date.parse(node.lease.expiresAt);
      const maxSkew = 500;
      let lastMint = Date.now();
      let refused: unknown;
      while (Date.now() < expiresAt + 2_000) {
        try {
          node.nextId();
          lastMint = Date.now();
        } catch (e) {
          refused = e;
          break;
        }
        await sleep(5);
      }
      assert.ok(refused instanceof Fenced, `expected fenced, got ${String(refused)}`);
      assert.ok(
        lastMint < expiresAt - maxSkew,
        `minted ${lastMint - (expiresAt - maxSkew)} ms past expiresAt - maxClockSkew`,
      );
      await sleep(100);
      assert.equal(fenced.length, 1, "the 'fenced' event fired");
      assert.throws(() => node.nextId(), Fenced, 'still fenced while the registry is stopped');

      registry.child.kill('SIGCONT');
      await back;
      assert.equal(typeof node.nextId(), 'bigint');
    } finally {
      registry.child.kill('SIGCONT');
      await node.close();
    }
  });
});
