/**
 * The stamped publish frame against nats.js and a real nats-server: the same bytes nats.js would
 * write, the same counts, the same refusals, and the path in use on the nats.js installed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { framesOn, publishStamped } from '../../src/client/stamp-frame.js';
import { StampHeaders, stampedFrame } from '../../src/client/stamp.js';
import { plainServer, tempDir } from '../support.js';

const ID = '386353491926323200';

/** What nats.js writes for `publish(subject, data, { headers })`. */
function natsjsFrame(subject: string, id: string, data: Uint8Array): Buffer {
  const block = new StampHeaders(id).encode();
  return Buffer.concat([
    Buffer.from(`HPUB ${subject} ${block.length} ${block.length + data.length}\r\n`),
    block,
    data,
    Buffer.from('\r\n'),
  ]);
}

/** Publishes with `send` and returns what a subscriber received, and what the sender counted. */
async function roundTrip(
  nc: NatsConnection,
  subject: string,
  send: () => void,
): Promise<{ msg: Msg; outMsgs: number; outBytes: number }> {
  const sub = nc.subscribe(subject, { max: 1 });
  await nc.flush();
  const before = nc.stats();
  send();
  for await (const msg of sub) {
    const now = nc.stats();
    return { msg, outMsgs: now.outMsgs - before.outMsgs, outBytes: now.outBytes - before.outBytes };
  }
  throw new Error('no message');
}

describe('stamped publish frames', { timeout: 30_000 }, () => {
  let server: ChildProcess;
  let nc: NatsConnection;
  before(async () => {
    const s = await plainServer();
    server = s.child;
    nc = await connect({ servers: s.url });
  });
  after(async () => {
    await nc?.close();
    server?.kill('SIGKILL');
  });

  it('is the frame nats.js would write, across slabs, ID lengths and payload sizes', () => {
    const frames = [];
    // Far more than a slab's worth, held at once as nats.js holds them until it writes.
    for (let i = 0; i < 3000; i++) {
      const id = String(BigInt(ID) + BigInt(i) * 7919n).slice(0, 1 + (i % 19));
      const data = new Uint8Array(i % 7 === 0 ? 20_000 : i % 300).fill(i % 251);
      const subject = `ids.default.${i % 3}.ü`;
      frames.push({ frame: stampedFrame(subject, id, data), expected: natsjsFrame(subject, id, data) });
    }
    for (const [i, f] of frames.entries()) assert.deepEqual(Buffer.from(f.frame), f.expected, `frame ${i}`);
  });

  it('is the path publishes take on the nats.js installed', () => {
    assert.equal(framesOn(nc), true, 'nats.js no longer has the protocol fields stamp-frame.ts uses');
  });

  it('arrives stamped, counted as nats.js counts a publish with headers', async () => {
    const data = new TextEncoder().encode('hello');
    const framed = await roundTrip(nc, 'ids.default.1.x', () => publishStamped(nc, 'ids.default.1.x', data, ID));
    const byNatsjs = await roundTrip(nc, 'ids.default.1.x', () =>
      nc.publish('ids.default.1.x', data, { headers: new StampHeaders(ID) }),
    );
    for (const r of [framed, byNatsjs]) {
      assert.equal(r.msg.headers?.get('Snowflake-Id'), ID);
      assert.equal(r.msg.headers?.get('Nats-Msg-Id'), ID);
      assert.equal(r.msg.string(), 'hello');
    }
    assert.deepEqual([framed.outMsgs, framed.outBytes], [byNatsjs.outMsgs, byNatsjs.outBytes]);
    const big = new Uint8Array(100_000).fill(7);
    const large = await roundTrip(nc, 'ids.default.1.big', () => publishStamped(nc, 'ids.default.1.big', big, ID));
    assert.deepEqual(large.msg.data, big);
    assert.equal(large.msg.headers?.get('Snowflake-Id'), ID);
  });

  it('refuses what nats.js publish refuses, in its words', async () => {
    const data = new Uint8Array(1);
    const refusal = (f: () => void) => {
      try {
        f();
        return 'published';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const publish =
      (subject: string, d = data) =>
      () =>
        nc.publish(subject, d, { headers: new StampHeaders(ID) });
    const framed =
      (subject: string, d = data) =>
      () =>
        publishStamped(nc, subject, d, ID);
    for (const subject of ['a b', '', 'a\tb']) {
      const expected = refusal(publish(subject));
      assert.notEqual(expected, 'published');
      assert.equal(refusal(framed(subject)), expected);
    }
    const other = await connect({ servers: nc.getServer() });
    await other.close();
    assert.equal(
      refusal(() => publishStamped(other, 'ids.x', data, ID)),
      refusal(() => other.publish('ids.x', data)),
    );
  });

  it('refuses a message over the server max_payload, counting the stamp', async (t) => {
    const { dir } = tempDir('frame', t);
    writeFileSync(path.join(dir, 'small.conf'), 'max_payload: 1000\n');
    const s = await plainServer(['-c', path.join(dir, 'small.conf')]);
    t.after(() => s.child.kill('SIGKILL'));
    const small = await connect({ servers: s.url });
    t.after(() => small.close());
    const fits = new Uint8Array(1000 - new StampHeaders(ID).encode().length);
    const over = new Uint8Array(fits.length + 1);
    assert.equal(
      (await roundTrip(small, 'ids.x', () => publishStamped(small, 'ids.x', fits, ID))).msg.data.length,
      fits.length,
    );
    assert.throws(() => publishStamped(small, 'ids.x', over, ID), /max_payload/);
  });
});
