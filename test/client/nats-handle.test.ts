/**
 * NatsHandle against a real nats-server that stops answering: nats.js leaves a PING unanswered
 * forever when its connection closes under it, and a drain whose last flush fails leaves the
 * connection redialling forever. The handle must settle both, or a rotation (and close()) hangs.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsHandle } from '../../src/client/nats-handle.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { plainServer } from '../support.js';

/** Resolves to what `p` did, or 'pending' after `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<string> {
  const timeout = new AbortController();
  const outcome = await Promise.race([
    p.then(
      () => 'resolved',
      () => 'rejected',
    ),
    sleep(ms, 'pending', { signal: timeout.signal }).catch(() => 'pending'),
  ]);
  timeout.abort();
  return outcome;
}

describe('NatsHandle when the server stops answering', { timeout: 30_000 }, () => {
  const servers: ChildProcess[] = [];
  const creds = () => ({ jwt: 'unused-by-a-plain-server', seed: generateNkey('user').seed, expiresAt: '' });
  let url: string;
  before(async () => {
    const s = await plainServer();
    servers.push(s.child);
    url = s.url;
  });
  after(() => {
    for (const c of servers) c.kill('SIGKILL');
  });

  it('rejects a pending flush once its connection closes', async () => {
    const { child, url } = await plainServer();
    servers.push(child);
    const h = await NatsHandle.open({ servers: [url] }, { ...creds(), servers: [url] });
    child.kill('SIGSTOP');
    const flushed = h.flush();
    await h.connection!.close();
    assert.equal(await within(flushed, 2_000), 'rejected');
    child.kill('SIGKILL');
  });

  it('closes, and stops redialling, when the server dies mid-drain', async () => {
    const { child, url } = await plainServer();
    servers.push(child);
    const h = await NatsHandle.open({ servers: [url] }, { ...creds(), servers: [url] });
    const nc = h.connection!;
    child.kill('SIGSTOP');
    const closing = h.close();
    await sleep(100);
    child.kill('SIGKILL');
    assert.equal(await within(closing, 15_000), 'resolved');
    assert.ok(nc.isClosed(), 'the connection is closed, not redialling');
  });

  it('still rotates on a server that answers', async () => {
    const h = await NatsHandle.open({ servers: [url] }, { ...creds(), servers: [url] });
    const sub = h.subscribe('t.>');
    await h.rotate({ ...creds(), servers: [url] });
    h.publish('t.x', 'after');
    await h.flush();
    const m = await sub[Symbol.asyncIterator]().next();
    assert.equal(new TextDecoder().decode(m.value.data), 'after');
    assert.equal(h.rotations, 1);
    await h.close();
  });
});
