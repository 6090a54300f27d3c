/**
 * `snowgate lease --creds-file` as a sidecar: a stock nats.js client that reads the file at every
 * connect keeps publishing across renewals. nats-server 2.9 cuts each connection at its JWT's
 * `exp`; the client reconnects with the file's newer JWT, buffering what it publishes meanwhile.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, type Msg } from '@nats-io/transport-node';
import { NodeLease } from '../../src/client/index.js';
import { startTestRegistry, type TestRegistry } from '../../src/testing/index.js';
import { start, waitFor } from '../cli/helpers.js';
import { tempDir } from './harness.js';

describe('snowgate lease --creds-file with a stock nats.js client', () => {
  let reg: TestRegistry;
  const tmp = tempDir('sidecar');
  before(async () => {
    reg = await startTestRegistry({ nats: true, lease: { ttl: '4s', maxClockSkew: '500ms' } });
  });
  after(async () => {
    await reg.close();
    tmp.remove();
  });

  it('keeps publishing across three renewals, losing at most the messages in flight at each cut', async () => {
    const credsFile = path.join(tmp.dir, 'nats.creds');
    const tokenFile = path.join(tmp.dir, 'token');
    writeFileSync(tokenFile, await reg.token('service-a'));
    const sidecar = start([
      'lease',
      '--registry',
      reg.url,
      '--token-file',
      tokenFile,
      '--creds-file',
      credsFile,
      '--instance',
      'side',
    ]);
    const grant = JSON.parse(await waitFor('the grant', () => sidecar.stdout().includes('\n') && sidecar.stdout())) as {
      lease: { node: number };
      nats: { servers: string[] };
    };
    const subscriber = await NodeLease.acquire({ registry: reg.url, token: () => reg.token('service-b'), nats: true });
    const received = new Set<string>();
    const sub = subscriber.nats.subscribe(`ids.default.${grant.lease.node}.>`, {
      callback: (_e, m: Msg) => received.add(new TextDecoder().decode(m.data)),
    });
    await subscriber.nats.flush();

    const nc = await connect({
      servers: grant.nats.servers,
      authenticator: credsAuthenticator(() => readFileSync(credsFile)),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
    });
    let reconnects = 0;
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') reconnects++;
    })();
    const sent: string[] = [];
    try {
      while (reconnects < 3) {
        const body = `m${sent.length}`;
        nc.publish(`ids.default.${grant.lease.node}.side`, body);
        sent.push(body);
        await sleep(5);
      }
      await nc.flush();
      await waitFor('the last message', () => received.has(sent.at(-1)!));
    } finally {
      await nc.close();
      sub.unsubscribe();
      await subscriber.close();
      sidecar.child.kill('SIGTERM');
      assert.equal(await sidecar.exit, 0, sidecar.stderr());
    }
    const lost = sent.filter((m) => !received.has(m));
    process.stdout.write(`# sidecar: ${sent.length} sent, ${lost.length} lost over ${reconnects} reconnects\n`);
    // What nats.js wrote to a socket the server was closing is gone; it buffers the rest.
    assert.ok(lost.length <= 20 * reconnects, `lost ${lost.length} of ${sent.length}: ${lost.slice(0, 10).join(' ')}`);
  });
});
