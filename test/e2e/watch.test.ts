/** `snowgate watch` against a real registry and nats-server: live, and replayed from a JetStream stream. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { NodeLease } from '../../src/client/index.js';
import { startTestRegistry, type TestRegistry } from '../../src/testing/index.js';
import { run, start, waitFor } from '../cli/helpers.js';
import { tempDir } from './harness.js';

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('snowgate watch', () => {
  let reg: TestRegistry;
  let pub: NodeLease;
  const tmp = tempDir('watch');
  const tokenFile = path.join(tmp.dir, 'token');
  before(async () => {
    reg = await startTestRegistry({
      nats: true,
      natsConfig: {
        permissions: { publish: ['ids.{pool}.{node}.>', '$JS.API.>'], subscribe: ['ids.{pool}.>', '_INBOX.>'] },
      },
    });
    writeFileSync(tokenFile, await reg.token('service-b'));
    pub = await NodeLease.acquire({
      registry: reg.url,
      token: () => reg.token('service-a'),
      instance: 'watched',
      nats: true,
    });
  });
  after(async () => {
    await pub.close();
    await reg.close();
    tmp.remove();
  });

  it('shows each message with its node and holder, and flags duplicates and order', async () => {
    const creds = path.join(tmp.dir, 'pub.creds');
    writeFileSync(creds, pub.credentials!.creds, { mode: 0o600 });
    const subject = `ids.default.${pub.lease.node}.live`;
    const w = start([
      'watch',
      'ids.default.>',
      '--creds',
      creds,
      '--server',
      reg.nats!.url,
      '--registry',
      reg.url,
      '--token-file',
      tokenFile,
      '--json',
    ]);
    // The watcher is subscribed once a message reaches it; until then, keep knocking.
    await waitFor('the watcher to see a message', async () => {
      await pub.publish(`ids.default.${pub.lease.node}.probe`, 'probe');
      await sleep(100);
      return w.stdout().includes('probe');
    });
    const [a, b] = [pub.nextIdString(), pub.nextIdString()];
    const stamped = (id: string) => {
      const h = headers();
      h.set('Snowflake-Id', id);
      h.set('Nats-Msg-Id', id);
      return { headers: h };
    };
    pub.nats.publish(subject, 'b', stamped(b));
    pub.nats.publish(subject, 'b again', stamped(b));
    pub.nats.publish(subject, 'a late', stamped(a));
    await waitFor('the three messages', () => w.stdout().split(subject).length === 4).catch((e: Error) => {
      throw new Error(`${e.message}\nstdout:\n${w.stdout()}\nstderr:\n${w.stderr()}`);
    });
    w.child.kill('SIGINT');
    assert.equal(await w.exit, 0, w.stderr());
    const out = lines(w.stdout());
    const seen = out.filter((l) => l.subject === subject);
    assert.deepEqual(
      seen.map((l) => [l.id, l.flags]),
      [
        [b, []],
        [b, ['dup']],
        [a, ['order']],
      ],
    );
    assert.deepEqual(seen[0]!.holder, {
      issuer: 'test',
      subject: 'service-a',
      instance: 'watched',
      leaseId: pub.lease.id,
    });
    assert.equal(seen[0]!.node, pub.lease.node);
    assert.deepEqual(out.at(-1)!.summary.problems, { duplicate: 1, out_of_order: 1 });
  });

  it('--stream --since-id replays a JetStream stream from the instant the ID encodes', async () => {
    const jsm = await jetstreamManager(pub.nats.connection!);
    await jsm.streams.add({ name: 'IDS', subjects: ['ids.default.*.replay'] });
    const subject = `ids.default.${pub.lease.node}.replay`;
    const before = [];
    for (let i = 0; i < 3; i++) before.push((await pub.publish(subject, `early ${i}`, { jetstream: true })).id);
    await sleep(20); // a millisecond boundary between what is before the ID and what is not
    const replayed = [];
    for (let i = 0; i < 4; i++)
      replayed.push((await pub.publish(subject, `late ${i}`, { jetstream: true, signed: true })).id);

    const r = await run(
      [
        'watch',
        'ids.default.>',
        '--registry',
        reg.url,
        '--token-file',
        tokenFile,
        '--stream',
        'IDS',
        '--since-id',
        replayed[0]!,
        '--json',
        '--count',
        '4',
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.deepEqual(
      out.slice(0, -1).map((l) => l.id),
      replayed,
    );
    for (const l of out.slice(0, -1)) {
      assert.deepEqual(l.flags, ['signed']);
      assert.equal(l.holder.instance, 'watched');
    }
    assert.equal(out.at(-1)!.summary.messages, 4);
  });

  it('says what it needs, with exit 2', async () => {
    assert.equal((await run(['watch', 'x'])).code, 2);
    assert.equal((await run(['watch', 'x', '--creds', 'f'])).code, 2, 'no layout');
    assert.equal((await run(['watch', 'x', '--registry', reg.url])).code, 2, 'no token');
    assert.equal(
      (await run(['watch', 'x', '--registry', reg.url, '--token-file', tokenFile, '--stream', 'S'])).code,
      2,
    );
  });
});
