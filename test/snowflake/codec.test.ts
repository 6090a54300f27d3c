import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeId, encodeId, parseIdString, type DecodedId } from '../../src/snowflake/codec.js';
import { DEFAULT_LAYOUT, layoutProblem, type Layout } from '../../src/snowflake/layout.js';

const EPOCH_2024 = Date.parse('2024-01-01T00:00:00Z');
const TWO_64 = 1n << 64n;

/** Any layout the configuration accepts: the schema's per-field bounds, 63 bits or fewer in all. */
const layoutArb: fc.Arbitrary<Layout> = fc
  .integer({ min: 1, max: 62 })
  .chain((timestampBits) =>
    fc
      .integer({ min: 1, max: Math.min(30, 63 - timestampBits) })
      .chain((nodeBits) =>
        fc
          .integer({ min: 0, max: Math.min(61, 63 - timestampBits - nodeBits) })
          .map((sequenceBits) => ({ timestampBits, nodeBits, sequenceBits })),
      ),
  );

const width = (l: Layout): number => l.timestampBits + l.nodeBits + l.sequenceBits;
const epochArb = fc.integer({ min: 0, max: EPOCH_2024 });

/** Fields that fit the layout and that a JS number holds exactly (what a generator can mint). */
function fieldsArb(l: Layout, epochMs: number): fc.Arbitrary<DecodedId> {
  const maxOffset = (1n << BigInt(l.timestampBits)) - 1n;
  const safeOffset = BigInt(Number.MAX_SAFE_INTEGER - epochMs);
  const maxSeq = (1n << BigInt(l.sequenceBits)) - 1n;
  const record = fc.record({
    timestampMs: fc
      .bigInt({ min: 0n, max: maxOffset < safeOffset ? maxOffset : safeOffset })
      .map((o) => epochMs + Number(o)),
    node: fc.integer({ min: 0, max: 2 ** l.nodeBits - 1 }),
    sequence: fc
      .bigInt({ min: 0n, max: maxSeq < BigInt(Number.MAX_SAFE_INTEGER) ? maxSeq : BigInt(Number.MAX_SAFE_INTEGER) })
      .map(Number),
  });
  return record.map((f) => ({ ...f })); // fc.record's objects have no prototype; deepEqual would see it
}

/** A layout with an epoch and fields inside it. */
const caseArb = fc
  .tuple(layoutArb, epochArb)
  .chain(([layout, epochMs]) => fieldsArb(layout, epochMs).map((fields) => ({ layout, epochMs, fields })));

describe('codec: properties over random layouts', () => {
  it('every generated layout is one layoutProblem accepts', () => {
    fc.assert(fc.property(layoutArb, (l) => layoutProblem(l) === undefined && width(l) <= 63));
  });

  it('decode(encode(fields)) gives the fields back, and the ID fits the layout and 63 bits', () => {
    fc.assert(
      fc.property(caseArb, ({ layout, epochMs, fields }) => {
        const id = encodeId(layout, epochMs, fields);
        assert.equal(typeof id, 'bigint');
        assert.ok(id >= 0n && id < 1n << BigInt(width(layout)));
        assert.ok(id < 1n << 63n, 'the sign bit stays 0');
        assert.deepEqual(decodeId(layout, epochMs, id), fields);
      }),
      { numRuns: 2000 },
    );
  });

  it('encode(decode(id)) gives the ID back for every ID the layout can hold (or decode refuses it)', () => {
    const arb = fc
      .tuple(layoutArb, epochArb)
      .chain(([layout, epochMs]) =>
        fc.bigInt({ min: 0n, max: (1n << BigInt(width(layout))) - 1n }).map((id) => ({ layout, epochMs, id })),
      );
    fc.assert(
      fc.property(arb, ({ layout, epochMs, id }) => {
        let fields: DecodedId;
        try {
          fields = decodeId(layout, epochMs, id);
        } catch (e) {
          // Only allowed when a field is beyond what a JS number holds exactly: never rounded.
          assert.ok(e instanceof RangeError);
          const seq = id & ((1n << BigInt(layout.sequenceBits)) - 1n);
          const ts = BigInt(epochMs) + (id >> BigInt(layout.nodeBits + layout.sequenceBits));
          assert.ok(ts > BigInt(Number.MAX_SAFE_INTEGER) || seq > BigInt(Number.MAX_SAFE_INTEGER), String(e));
          return;
        }
        assert.equal(encodeId(layout, epochMs, fields), id);
      }),
      { numRuns: 2000 },
    );
  });

  it('decoding an ID wider than the layout throws, up to the full 64 bits', () => {
    const arb = fc
      .tuple(layoutArb, epochArb)
      .chain(([layout, epochMs]) =>
        fc.bigInt({ min: 1n << BigInt(width(layout)), max: TWO_64 - 1n }).map((id) => ({ layout, epochMs, id })),
      );
    fc.assert(
      fc.property(arb, ({ layout, epochMs, id }) => {
        assert.throws(() => decodeId(layout, epochMs, id), RangeError);
      }),
    );
  });

  it('a negative ID throws', () => {
    fc.assert(
      fc.property(layoutArb, fc.bigInt({ min: -TWO_64, max: -1n }), (layout, id) => {
        assert.throws(() => decodeId(layout, 0, id), RangeError);
      }),
    );
  });

  it('IDs sort as (timestamp, node, sequence) do: the numeric order is the time order', () => {
    const arb = fc
      .tuple(layoutArb, epochArb)
      .chain(([layout, epochMs]) =>
        fc.tuple(fieldsArb(layout, epochMs), fieldsArb(layout, epochMs)).map(([a, b]) => ({ layout, epochMs, a, b })),
      );
    const cmp = (x: number, y: number): number => Math.sign(x - y);
    fc.assert(
      fc.property(arb, ({ layout, epochMs, a, b }) => {
        const byFields = cmp(a.timestampMs, b.timestampMs) || cmp(a.node, b.node) || cmp(a.sequence, b.sequence) || 0;
        const ia = encodeId(layout, epochMs, a);
        const ib = encodeId(layout, epochMs, b);
        assert.equal(ia < ib ? -1 : ia > ib ? 1 : 0, byFields);
      }),
    );
  });

  it('a field one past its width is refused, never masked into a neighbour', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom('node', 'sequence', 'timestampMs'), ({ layout, epochMs, fields }, key) => {
        const over = {
          node: { ...fields, node: 2 ** layout.nodeBits },
          sequence: { ...fields, sequence: 2 ** layout.sequenceBits },
          timestampMs: { ...fields, timestampMs: epochMs + 2 ** layout.timestampBits },
        }[key];
        assert.throws(() => encodeId(layout, epochMs, over), RangeError);
      }),
    );
  });

  it('the decimal string round trip is exact where a JS number would not be', () => {
    fc.assert(
      fc.property(caseArb, ({ layout, epochMs, fields }) => {
        const id = encodeId(layout, epochMs, fields);
        assert.equal(parseIdString(id.toString()), id);
        assert.deepEqual(decodeId(layout, epochMs, parseIdString(id.toString())), fields);
      }),
    );
  });
});

describe('codec: the default 41/10/12 layout', () => {
  it('encodes fields at known positions', () => {
    const id = encodeId(DEFAULT_LAYOUT, EPOCH_2024, {
      timestampMs: Date.parse('2025-06-01T12:00:00.000Z'),
      node: 42,
      sequence: 7,
    });
    assert.equal(id, 187535720448172039n);
    assert.deepEqual(decodeId(DEFAULT_LAYOUT, EPOCH_2024, id), {
      timestampMs: Date.parse('2025-06-01T12:00:00.000Z'),
      node: 42,
      sequence: 7,
    });
  });

  it('the largest ID is 2^63-1 and keeps every digit as a string, unlike a JS number', () => {
    const max = (1n << 63n) - 1n;
    const f = decodeId(DEFAULT_LAYOUT, EPOCH_2024, max);
    assert.deepEqual([f.node, f.sequence], [1023, 4095]);
    assert.equal(encodeId(DEFAULT_LAYOUT, EPOCH_2024, f).toString(), '9223372036854775807');
    assert.notEqual(String(Number(max)), '9223372036854775807', 'a JS number rounds it');
    assert.throws(() => decodeId(DEFAULT_LAYOUT, EPOCH_2024, 1n << 63n), RangeError);
  });

  it('refuses a timestamp before the epoch and non-integer fields', () => {
    const base = { timestampMs: EPOCH_2024, node: 0, sequence: 0 };
    assert.throws(() => encodeId(DEFAULT_LAYOUT, EPOCH_2024, { ...base, timestampMs: EPOCH_2024 - 1 }), RangeError);
    assert.throws(() => encodeId(DEFAULT_LAYOUT, EPOCH_2024, { ...base, node: -1 }), RangeError);
    assert.throws(() => encodeId(DEFAULT_LAYOUT, EPOCH_2024, { ...base, node: 1.5 }), RangeError);
    assert.throws(() => encodeId(DEFAULT_LAYOUT, EPOCH_2024, { ...base, sequence: 0.5 }), RangeError);
    assert.throws(() => encodeId(DEFAULT_LAYOUT, EPOCH_2024, { ...base, timestampMs: EPOCH_2024 + 0.5 }), RangeError);
    assert.equal(encodeId(DEFAULT_LAYOUT, EPOCH_2024, base), 0n);
  });

  it('a zero-bit sequence field holds only 0', () => {
    const l = { timestampBits: 41, nodeBits: 10, sequenceBits: 0 };
    const id = encodeId(l, EPOCH_2024, { timestampMs: EPOCH_2024 + 5, node: 3, sequence: 0 });
    assert.equal(id, (5n << 10n) | 3n);
    assert.throws(() => encodeId(l, EPOCH_2024, { timestampMs: EPOCH_2024, node: 0, sequence: 1 }), RangeError);
  });
});

describe('codec: no rounding through JS numbers', () => {
  it('refuses to decode a field past 2^53 rather than round it (a 54-bit timestamp)', () => {
    const l = { timestampBits: 54, nodeBits: 1, sequenceBits: 0 };
    const id = (1n << 55n) - 2n; // timestamp field 2^54 - 1: as a JS number it would read 2^54
    assert.throws(() => decodeId(l, 0, id), /timestampMs is beyond what a JS number holds exactly/);
    assert.deepEqual(decodeId(l, 0, BigInt(Number.MAX_SAFE_INTEGER) << 1n), {
      timestampMs: Number.MAX_SAFE_INTEGER,
      node: 0,
      sequence: 0,
    });
  });

  it('refuses to decode a sequence past 2^53', () => {
    const l = { timestampBits: 1, nodeBits: 1, sequenceBits: 61 };
    assert.throws(() => decodeId(l, 0, (1n << 61n) - 1n), /sequence is beyond/);
    assert.equal(decodeId(l, 0, BigInt(Number.MAX_SAFE_INTEGER)).sequence, Number.MAX_SAFE_INTEGER);
  });

  it('refuses to encode a timestamp that is not a safe integer instead of minting a wrong ID', () => {
    const l = { timestampBits: 62, nodeBits: 1, sequenceBits: 0 };
    const epochMs = 300;
    // 300 + 2^62 rounds to 2^62; minus 300 it used to round to 2^62 - 512 and encode without complaint.
    assert.throws(() => encodeId(l, epochMs, { timestampMs: epochMs + 2 ** 62, node: 0, sequence: 0 }), RangeError);
    assert.throws(() => encodeId(l, 0.5, { timestampMs: 1, node: 0, sequence: 0 }), RangeError);
  });
});

describe('codec: parseIdString', () => {
  it('accepts plain decimal digits, up to 20 of them', () => {
    assert.equal(parseIdString('0'), 0n);
    assert.equal(parseIdString('9223372036854775807'), (1n << 63n) - 1n);
    assert.equal(parseIdString('18446744073709551615'), TWO_64 - 1n);
  });

  it('refuses signs, exponents, hex, whitespace, decimals and the empty string', () => {
    for (const s of ['', '-1', '+1', '1e3', '0x10', ' 1', '1 ', '1.0', '١٢٣', '123456789012345678901']) {
      assert.throws(() => parseIdString(s), RangeError, JSON.stringify(s));
    }
  });

  it('round-trips any 64-bit unsigned value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: TWO_64 - 1n }), (n) => {
        assert.equal(parseIdString(n.toString()), n);
      }),
    );
  });
});
