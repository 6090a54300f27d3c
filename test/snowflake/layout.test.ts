import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_LAYOUT,
  inRanges,
  layoutProblem,
  nodeCount,
  nodesOf,
  parseNodeRanges,
  rangesSize,
} from '../../src/snowflake/layout.js';

describe('layoutProblem', () => {
  it('accepts the default 41/10/12 and anything up to 63 bits', () => {
    assert.equal(layoutProblem(DEFAULT_LAYOUT), undefined);
    assert.equal(layoutProblem({ timestampBits: 41, nodeBits: 10, sequenceBits: 12 }), undefined);
    assert.equal(layoutProblem({ timestampBits: 39, nodeBits: 16, sequenceBits: 8 }), undefined); // Sonyflake
    assert.equal(layoutProblem({ timestampBits: 1, nodeBits: 1, sequenceBits: 0 }), undefined);
  });

  it('refuses a layout over 63 bits, naming the sum', () => {
    const p = layoutProblem({ timestampBits: 42, nodeBits: 10, sequenceBits: 12 });
    assert.match(p ?? '', /64, more than 63/);
  });

  it('refuses zero timestamp or node bits, negative or fractional widths', () => {
    assert.match(layoutProblem({ timestampBits: 0, nodeBits: 10, sequenceBits: 12 }) ?? '', /timestampBits/);
    assert.match(layoutProblem({ timestampBits: 41, nodeBits: 0, sequenceBits: 12 }) ?? '', /nodeBits/);
    assert.match(layoutProblem({ timestampBits: 41, nodeBits: 10, sequenceBits: -1 }) ?? '', /sequenceBits/);
    assert.match(layoutProblem({ timestampBits: 41, nodeBits: 9.5, sequenceBits: 12 }) ?? '', /nodeBits/);
  });

  it('agrees with the 63-bit rule for every combination of widths', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 64 }),
        (timestampBits, nodeBits, sequenceBits) => {
          const ok = layoutProblem({ timestampBits, nodeBits, sequenceBits }) === undefined;
          assert.equal(ok, timestampBits + nodeBits + sequenceBits <= 63);
        },
      ),
    );
  });
});

describe('parseNodeRanges', () => {
  const l = DEFAULT_LAYOUT;

  it('parses single nodes and ranges, sorted, inclusive', () => {
    assert.deepEqual(parseNodeRanges('0-1023', l), [[0, 1023]]);
    assert.deepEqual(parseNodeRanges('30-39, 5 ,0-3', l), [
      [0, 3],
      [5, 5],
      [30, 39],
    ]);
    assert.equal(rangesSize(parseNodeRanges('0-9,20,30-39', l)), 21);
  });

  it('takes the top node, and refuses one past it (no off-by-one at 2^nodeBits)', () => {
    assert.deepEqual(parseNodeRanges('1023', l), [[1023, 1023]]);
    assert.throws(() => parseNodeRanges('1024', l), /1024 is outside 0-1023/);
    assert.throws(() => parseNodeRanges('0-1024', l), /1024 is outside 0-1023/);
    assert.throws(() => parseNodeRanges('0-8', { ...l, nodeBits: 3 }), /outside 0-7/);
  });

  it('refuses reversed ranges', () => {
    assert.throws(() => parseNodeRanges('10-5', l), /10-5 is reversed/);
  });

  it('refuses overlapping ranges, including a shared end and a repeated node', () => {
    assert.throws(() => parseNodeRanges('0-10,5-20', l), /overlap/);
    assert.throws(() => parseNodeRanges('0-10,10-20', l), /overlap/);
    assert.throws(() => parseNodeRanges('7,7', l), /overlap/);
    assert.throws(() => parseNodeRanges('20-30,0-25', l), /overlap/);
    assert.deepEqual(parseNodeRanges('0-10,11-20', l), [
      [0, 10],
      [11, 20],
    ]);
  });

  it('refuses anything that is not a node or a range', () => {
    for (const s of ['', 'a-b', '-1', '1-', '1--2', '1,,2', '0x10', '1.5', '0-3;5']) {
      assert.throws(() => parseNodeRanges(s, l), /is not a node or a range/, JSON.stringify(s));
    }
  });

  it('enumerates exactly the nodes it counts, all inside the layout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.uniqueArray(fc.nat(4095), { minLength: 1, maxLength: 20 }),
        (nodeBits, marks) => {
          const layout = { ...l, nodeBits };
          const sorted = marks.map((m) => m % nodeCount(layout)).sort((a, b) => a - b);
          const distinct = [...new Set(sorted)];
          // Pairs of consecutive distinct marks as ranges: disjoint by construction, so always valid.
          const spec = distinct
            .map((n, i) => (i % 2 === 0 ? `${n}-${distinct[i + 1] ?? n}` : ''))
            .filter((s) => s)
            .join(',');
          const ranges = parseNodeRanges(spec, layout);
          const nodes = [...nodesOf(ranges)];
          assert.equal(nodes.length, rangesSize(ranges));
          assert.equal(new Set(nodes).size, nodes.length);
          for (const n of nodes) {
            assert.ok(n >= 0 && n < nodeCount(layout));
            assert.ok(inRanges(ranges, n));
          }
        },
      ),
    );
  });
});
