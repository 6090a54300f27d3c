/**
 * CONTRACT §7 against a real registry and nats-server: with 4-second leases, credentials rotate
 * every two seconds on both sides, and a subscriber still receives every message a steady
 * publisher sends, exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg } from '@nats-io/transport-node';
import { NodeLease } from '../../src/client/index.js';
import { startTestRegistry, type TestRegistry } from '../../src/testing/index.js';

describe('NodeLease over NATS with short leases', { timeout: 120_000 }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ nats: true, lease: { ttl: '4s', maxClockSkew: '500ms' } });
  });
  after(() => reg.close());

  for (const ordered of [false, true]) {
    it(`loses and repeats nothing across three rotations on both sides${ordered ? ' (ordered)' : ''}`, async () => {
      const nats = { ordered };
      const [publisher, subscriber] = await Promise.all([
        NodeLease.acquire({ registry: reg.url, token: () => reg.token('service-a'), instance: `pub-${ordered}`, nats }),
        NodeLease.acquire({ registry: reg.url, token: () => reg.token('service-b'), instance: `sub-${ordered}`, nats }),
      ]);
      try {
        const subject = `ids.default.${publisher.lease.node}.ticks`;
        const received: Msg[] = [];
        const sub = subscriber.nats.subscribe(`ids.default.${publisher.lease.node}.>`);
        const reading = (async () => {
          for await (const m of sub) received.push(m);
        })();
        await subscriber.nats.flush();

        const sent: string[] = [];
        const enough = () => publisher.nats.rotations >= 3 && subscriber.nats.rotations >= 3;
        // A rotation that stalls must fail the test with what it saw, not hang it.
        const deadline = Date.now() + 60_000;
        while (!enough() || sent.length < 500) {
          assert.ok(
            Date.now() < deadline,
            `rotations after 60 s: publisher ${publisher.nats.rotations}, subscriber ${subscriber.nats.rotations}`,
          );
          for (let i = 0; i < 20; i++) sent.push(await publisher.publish(subject, `tick ${sent.length}`));
          await sleep(10);
        }
        await publisher.nats.flush();
        const until = Date.now() + 5_000;
        while (received.length < sent.length && Date.now() < until) await sleep(20);
        sub.unsubscribe();
        await reading;

        const ids = received.map((m) => m.headers?.get('Snowflake-Id') ?? '');
        assert.equal(new Set(ids).size, ids.length, 'a message was delivered twice');
        assert.deepEqual([...ids].sort(), [...sent].sort(), 'every message arrives');
        for (const m of received) assert.equal(m.headers?.get('Nats-Msg-Id'), m.headers?.get('Snowflake-Id'));
        if (ordered) assert.deepEqual(ids, sent, 'in the order they were published');
        assert.ok(publisher.metrics().renewals >= 3 && subscriber.metrics().rotations >= 3);
      } finally {
        await Promise.all([publisher.close(), subscriber.close()]);
      }
    });
  }
});
