// The SDK over the auth callout (issue 10): NodeLease with `nats: { auth: 'callout', sentinel }`
// connects with the sentinel creds and {token, lease}, moves to a new callout user at each renewal
// (make-before-break, as with the lease's own JWT) and loses nothing; closing it ends the lease,
// which revokes the callout users.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg } from '@nats-io/transport-node';
import { NodeLease } from '../../src/client/index.js';
import { startCalloutRegistry, type CalloutRegistry } from './callout-harness.js';

describe('NodeLease through the auth callout on nats-server 2.10', () => {
  let reg: CalloutRegistry;
  before(async () => {
    reg = await startCalloutRegistry({ lease: { ttl: '4s', maxClockSkew: '500ms', acquiresPerSecond: 0 } });
  });
  after(() => reg?.close());

  it('publishes on its node through two rotations, exactly once per message, and refuses other nodes', async () => {
    const nats = { auth: 'callout' as const, sentinel: reg.sentinelCreds };
    const [publisher, subscriber] = await Promise.all([
      NodeLease.acquire({ registry: reg.url, token: () => reg.token('svc-pub'), instance: 'pub', nats }),
      NodeLease.acquire({ registry: reg.url, token: () => reg.token('svc-sub'), instance: 'sub', nats }),
    ]);
    try {
      const node = publisher.lease.node;
      const received: Msg[] = [];
      const sub = subscriber.nats.subscribe('ids.default.>');
      const reading = (async () => {
        for await (const m of sub) received.push(m);
      })();
      await subscriber.nats.flush();
      const sent: string[] = [];
      const deadline = Date.now() + 30_000;
      while (publisher.nats.rotations < 2 || subscriber.nats.rotations < 2 || sent.length < 200) {
        assert.ok(Date.now() < deadline, `rotations ${publisher.nats.rotations}/${subscriber.nats.rotations}`);
        for (let i = 0; i < 10; i++) sent.push(await publisher.publish(`ids.default.${node}.ticks`, `t${sent.length}`));
        await sleep(20);
      }
      // Not its node: the callout user's permissions are the lease's.
      publisher.nats.publish(`ids.default.${node + 1}.forged`, 'no');
      await publisher.nats.flush();
      const until = Date.now() + 5000;
      while (received.length < sent.length && Date.now() < until) await sleep(20);
      await subscriber.nats.flush();
      sub.unsubscribe();
      await reading;
      const ids = received.map((m) => m.headers?.get('Snowflake-Id') ?? `forged ${m.subject}`);
      assert.equal(new Set(ids).size, ids.length, 'a message was delivered twice');
      assert.deepEqual([...ids].sort(), [...sent].sort(), 'every message, and nothing forged');
    } finally {
      await Promise.all([publisher.close(), subscriber.close()]);
    }
  });

  it('asks for the sentinel creds', async () => {
    await assert.rejects(
      NodeLease.acquire({ registry: reg.url, token: () => reg.token('svc-x'), nats: { auth: 'callout' } }),
      /sentinel/,
    );
  });
});
