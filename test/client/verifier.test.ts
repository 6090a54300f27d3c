import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import { headers } from '@nats-io/transport-node';
import fc from 'fast-check';
import { LineageVerifier, NodeLease, SnowflakeGenerator, type CheckedMessage } from '../../src/client/index.js';
import { MessageSigner } from '../../src/client/signature.js';
import { decodeId, parseIdString } from '../../src/snowflake/codec.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { startTestRegistry, type TestRegistry } from '../../src/testing/index.js';

const LAYOUT = { epoch: '2024-01-01T00:00:00.000Z', timestampBits: 41, nodeBits: 10, sequenceBits: 12 };
const NOW = Date.parse('2025-06-01T12:00:00Z');

function msg(subject: string, id: string | undefined, extra: Record<string, string> = {}, data = 'x'): CheckedMessage {
  const h = headers();
  if (id !== undefined) {
    h.set('Snowflake-Id', id);
    h.set('Nats-Msg-Id', id);
  }
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return { subject, headers: h, data: new TextEncoder().encode(data) };
}

function generator(node: number, clock = { now: () => NOW }) {
  return new SnowflakeGenerator({ layout: LAYOUT, node, notBefore: NOW - 10_000, clock });
}

describe('LineageVerifier without a registry', () => {
  const verifier = () => new LineageVerifier({ pools: { default: LAYOUT }, clock: { now: () => NOW } });

  it('decodes the ID and finds nothing wrong with a message of its node, in order', async () => {
    const v = verifier();
    const g = generator(5);
    const [a, b] = [g.nextString(), g.nextString()];
    const r = await v.check(msg('ids.default.5.orders', a));
    assert.deepEqual(
      { ok: r.ok, pool: r.pool, node: r.node, seq: r.sequence, at: r.timestamp?.getTime(), problems: r.problems },
      { ok: true, pool: 'default', node: 5, seq: 0, at: NOW, problems: [] },
    );
    assert.equal((await v.check(msg('ids.default.5.orders', b))).ok, true);
    // The Date is made when read; JSON carries it as a plain object's would.
    assert.equal(r.timestampMs, NOW);
    assert.equal(JSON.parse(JSON.stringify(r)).timestamp, new Date(NOW).toISOString());
  });

  it('flags a node the subject does not name, a duplicate, an older ID, a mismatched Nats-Msg-Id, a future time', async () => {
    const v = verifier();
    const g = generator(5);
    const ids = [g.nextString(), g.nextString(), g.nextString()];
    assert.deepEqual((await v.check(msg('ids.default.6.orders', ids[0]))).problems, ['node_mismatch']);
    assert.equal((await v.check(msg('ids.default.5.orders', ids[2]))).ok, true);
    const dup = await v.check(msg('ids.default.5.orders', ids[2]));
    assert.deepEqual([dup.duplicate, dup.outOfOrder, dup.problems], [true, false, ['duplicate']]);
    const old = await v.check(msg('ids.default.5.orders', ids[1]));
    assert.deepEqual([old.duplicate, old.outOfOrder, old.problems], [false, true, ['out_of_order']]);
    const h = msg('ids.default.5.orders', generator(5, { now: () => NOW + 1 }).nextString(), {
      'Nats-Msg-Id': 'other',
    });
    assert.deepEqual((await v.check(h)).problems, ['msg_id_mismatch']);
    const ahead = generator(5, { now: () => NOW + 60_000 }).nextString();
    assert.deepEqual((await v.check(msg('ids.default.5.x', ahead))).problems, ['future']);
  });

  it('names what it cannot read: no ID, not an ID, an unknown pool', async () => {
    const v = verifier();
    assert.deepEqual((await v.check(msg('ids.default.5.x', undefined))).problems, ['missing_id']);
    assert.deepEqual((await v.check(msg('ids.default.5.x', '0x10'))).problems, ['malformed_id']);
    assert.deepEqual((await v.check(msg('ids.default.5.x', '99999999999999999999'))).problems, ['malformed_id']);
    assert.deepEqual((await v.check(msg('ids.other.5.x', '1'))).problems, ['unknown_pool']);
  });

  it('remembers a bounded window of IDs: duplicates within it are caught, memory stays flat', async () => {
    const v = new LineageVerifier({
      pools: { default: LAYOUT },
      window: 1000,
      subjectTemplate: null,
      clock: { now: () => NOW },
    });
    let reads = 0;
    const g = generator(1, { now: () => NOW + Math.floor(reads++ / 100) });
    const first = g.nextString();
    await v.check(msg('x', first));
    for (let i = 0; i < 5000; i++) await v.check(msg('x', g.nextString()));
    const late = await v.check(msg('x', first));
    assert.deepEqual([late.duplicate, late.outOfOrder], [false, true], 'forgotten, but still older than the last');
    assert.equal((v as unknown as { window: { count: number } }).window.count, 1000);
  });
});

describe('LineageVerifier reads its clock for the future check', () => {
  it('flags a timestamp beyond maxClockSkew of the clock as it is now, read again when the last reading is passed', async () => {
    let now = NOW;
    let reads = 0;
    const clock = { now: () => (reads++, now) };
    const v = new LineageVerifier({ pools: { default: LAYOUT }, subjectTemplate: null, maxClockSkewMs: 1000, clock });
    const at = (ms: number) => generator(1, { now: () => ms }).nextString();
    assert.deepEqual((await v.check(msg('x', at(NOW)))).problems, []);
    const before = reads;
    for (let i = 0; i < 100; i++) await v.check(msg('x', at(NOW + 1000)));
    assert.equal(reads, before, 'timestamps within the last reading need no new one');
    assert.deepEqual((await v.check(msg('x', at(NOW + 1001)))).problems, ['future']);
    now = NOW + 5000; // the clock moved on: what was ahead of it no longer is
    assert.deepEqual((await v.check(msg('x', at(NOW + 5500)))).problems, []);
  });

  it('sees a clock stepped back within 1024 checks', async () => {
    let now = NOW + 60_000;
    const v = new LineageVerifier({
      pools: { default: LAYOUT },
      subjectTemplate: null,
      maxClockSkewMs: 1000,
      clock: { now: () => now },
    });
    const g = generator(1, { now: () => NOW + 30_000 });
    assert.deepEqual((await v.check(msg('x', g.nextString()))).problems, []);
    now = NOW; // stepped back a minute: the same timestamps are now 30 s ahead of it
    const flagged: number[] = [];
    for (let i = 0; i < 1100; i++)
      if ((await v.check(msg('x', g.nextString()))).problems.includes('future')) flagged.push(i);
    assert.ok(flagged.length > 0 && flagged[0]! < 1024, `first flagged at ${flagged[0]}`);
    assert.equal(flagged.length, 1100 - flagged[0]!, 'every check after the new reading');
  });
});

describe('LineageVerifier decodes as the codec does', () => {
  it('any string, any layout: the same fields, or malformed_id exactly where the codec throws', async () => {
    const layouts = fc
      .record({ timestampBits: fc.integer({ min: 1, max: 50 }), nodeBits: fc.integer({ min: 1, max: 30 }) })
      .chain(({ timestampBits, nodeBits }) =>
        fc.record({
          timestampBits: fc.constant(timestampBits),
          nodeBits: fc.constant(nodeBits),
          sequenceBits: fc.integer({ min: 0, max: Math.max(0, 63 - timestampBits - nodeBits) }),
        }),
      )
      .filter((l) => l.timestampBits + l.nodeBits + l.sequenceBits <= 63);
    const digits = fc.stringMatching(/^\d{1,20}$/);
    const ids = fc.oneof(
      digits,
      fc.bigInt({ min: 0n, max: 2n ** 63n }).map(String),
      fc.string({ maxLength: 21 }).filter((s) => s.trim() !== '' && !/[\r\n]/.test(s)),
    );
    let decoded = 0;
    await fc.assert(
      fc.asyncProperty(layouts, ids, async (bits, id) => {
        const layout = { epoch: LAYOUT.epoch, ...bits };
        const v = new LineageVerifier({ pools: { p: layout }, subjectTemplate: null, clock: { now: () => 8e15 } });
        const r = await v.check(msg('x', id));
        let want: ReturnType<typeof decodeId> | undefined;
        try {
          // r.id: the header as sent, which nats.js trims
          want = decodeId(layout, Date.parse(layout.epoch), parseIdString(r.id!));
        } catch {
          want = undefined;
        }
        if (!want) return assert.deepEqual(r.problems, ['malformed_id'], `${id} in ${JSON.stringify(bits)}`);
        decoded++;
        assert.deepEqual(
          { at: r.timestamp?.getTime(), node: r.node, seq: r.sequence, problems: r.problems },
          { at: want.timestampMs, node: want.node, seq: want.sequence, problems: [] },
          `${id} in ${JSON.stringify(bits)}`,
        );
      }),
      { numRuns: 2000 },
    );
    assert.ok(decoded > 200, `only ${decoded} IDs decoded: the property would be vacuous`);
  });
});

describe('LineageVerifier with a registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ nats: true });
  });
  after(() => reg.close());

  it('names the lease that minted each ID with one lookup per lease, and checks signatures by its key', async () => {
    const node = await NodeLease.acquire({ registry: reg.url, token: () => reg.token('service-a'), instance: 'ver-1' });
    try {
      const v = new LineageVerifier({ registry: reg.url, token: () => reg.token('service-b') });
      const signer = new MessageSigner(node.credentials!.seed);
      const subject = `ids.default.${node.lease.node}.orders`;
      for (let i = 0; i < 50; i++) {
        const id = node.nextIdString();
        const r = await v.check(
          msg(subject, id, { 'Snowflake-Sig': signer.sign(id, subject, new TextEncoder().encode(`m${i}`)) }, `m${i}`),
        );
        assert.equal(r.ok, true, r.problems.join());
        assert.equal(r.signature, 'valid');
        assert.equal(r.lease?.id, node.lease.id);
        assert.deepEqual(r.lease?.principal, { issuer: 'test', subject: 'service-a' });
        assert.equal(r.lease?.natsPublicKey, fromSeed(new TextEncoder().encode(node.credentials!.seed)).getPublicKey());
      }
      assert.equal(v.lookups, 1, 'one lineage lookup for 50 messages of one lease');

      // Another key signing, or a changed payload, is caught; so is an unsigned message when required.
      const id = node.nextIdString();
      const forger = new MessageSigner(generateNkey('user').seed);
      const forged = await v.check(
        msg(subject, id, { 'Snowflake-Sig': forger.sign(id, subject, new TextEncoder().encode('p')) }, 'p'),
      );
      assert.deepEqual([forged.signature, forged.problems], ['invalid', ['bad_signature']]);
      const id2 = node.nextIdString();
      const altered = await v.check(
        msg(subject, id2, { 'Snowflake-Sig': signer.sign(id2, subject, new TextEncoder().encode('p')) }, 'q'),
      );
      assert.deepEqual(altered.problems, ['bad_signature']);
      const strict = new LineageVerifier({
        registry: reg.url,
        token: () => reg.token('service-b'),
        signatures: 'require',
      });
      assert.deepEqual((await strict.check(msg(subject, node.nextIdString()))).problems, ['missing_signature']);

      // An ID of a node nobody held at that instant.
      const stranger = new SnowflakeGenerator({
        layout: node.layout,
        node: 1000,
        notBefore: Date.now() - 1000,
      }).nextString();
      const r = await v.check(msg('ids.default.1000.x', stranger));
      assert.equal(r.lease, null);
      assert.deepEqual(r.problems, ['no_lease']);
    } finally {
      await node.close();
    }
  });
});
