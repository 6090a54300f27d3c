import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IdWindow, MAX_WINDOW, slotHash } from '../../src/client/id-window.js';
import { parseHalves, type Halves } from '../../src/client/id-halves.js';

/** The window as a plain model: the last `size` distinct keys, oldest first. */
class ModelWindow {
  private readonly keys: string[] = [];
  constructor(private readonly size: number) {}
  add(high: number, low: number): boolean {
    const k = `${high}:${low}`;
    if (this.keys.includes(k)) return true;
    this.keys.push(k);
    if (this.keys.length > this.size) this.keys.shift();
    return false;
  }
}

/** Distinct IDs whose probes all start at the same slot of a window of `size`. */
function colliding(size: number, n: number): Array<[number, number]> {
  const mask = 2 ** Math.ceil(Math.log2(size * 2)) - 1;
  const keys: Array<[number, number]> = [];
  for (let low = 0; keys.length < n; low++) if ((slotHash(7, low) & mask) === 3) keys.push([7, low]);
  return keys;
}

describe('IdWindow', () => {
  it('catches an ID seen within the window, forgets the oldest once the window is full', () => {
    const w = new IdWindow(3);
    assert.deepEqual(
      [w.add(0, 1), w.add(0, 2), w.add(0, 1), w.add(1, 1), w.add(0, 2)],
      [false, false, true, false, true],
    );
    assert.equal(w.add(0, 3), false); // evicts (0, 1), the oldest
    assert.equal(w.count, 3);
    assert.equal(w.add(0, 1), false, 'the evicted ID is new again');
    assert.equal(w.add(0, 3), true);
  });

  it('tells the halves apart: (high, low) is not (low, high), and the full 32-bit range of each', () => {
    const w = new IdWindow(8);
    const top = 2 ** 31 - 1;
    const max = 2 ** 32 - 1;
    assert.deepEqual(
      [w.add(1, 2), w.add(2, 1), w.add(0, max), w.add(top, 0), w.add(top, max), w.add(0, 0)],
      [false, false, false, false, false, false],
    );
    assert.deepEqual(
      [w.add(1, 2), w.add(2, 1), w.add(0, max), w.add(top, 0), w.add(top, max), w.add(0, 0)],
      [true, true, true, true, true, true],
    );
  });

  it('keeps every colliding ID reachable as others around it are evicted', () => {
    const size = 8;
    const w = new IdWindow(size);
    const keys = colliding(size, 6);
    // Interleave the colliding IDs with others, so evictions open holes inside their cluster.
    const seq: Array<[number, number]> = keys.flatMap(([h, l], i) => [
      [h, l],
      [9, i],
    ]);
    const model = new ModelWindow(size);
    for (const [h, l] of [...seq, ...seq, ...seq.slice(0, 5)]) assert.equal(w.add(h, l), model.add(h, l), `${h}:${l}`);
  });

  it('answers as the model does for any sequence of IDs, in windows small enough to collide', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }),
        (size, ids) => {
          const w = new IdWindow(size);
          const model = new ModelWindow(size);
          for (const [h, l] of ids) assert.equal(w.add(h, l), model.add(h, l));
          assert.ok(w.count <= size);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('stays the same size over a million IDs: nothing is allocated per ID', () => {
    const w = new IdWindow(1000);
    const bytes = w.bytes;
    assert.ok(bytes <= 1000 * 8 + 2048 * 8, `${bytes} bytes for 1000 IDs`);
    for (let i = 0; i < 1_000_000; i++) assert.equal(w.add(i >>> 12, i), false);
    assert.equal(w.count, 1000);
    assert.equal(w.bytes, bytes);
    for (let i = 1_000_000 - 1000; i < 1_000_000; i++) assert.equal(w.add(i >>> 12, i), true);
    assert.equal(w.add(0, 0), false, 'the first ID is long gone');
  });

  it('refuses a size it cannot hold', () => {
    for (const size of [0, -1, 1.5, NaN, MAX_WINDOW + 1]) assert.throws(() => new IdWindow(size), RangeError);
  });
});

describe('parseHalves', () => {
  const halves = (id: string): Halves | undefined => {
    const out = { high: -1, low: -1 };
    return parseHalves(id, out) ? out : undefined;
  };

  it('splits any decimal of up to 20 digits into the halves BigInt gives', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(/^\d{1,20}$/), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)),
        (id) => {
          const v = BigInt(id);
          assert.deepEqual(halves(id), { high: Number(v >> 32n), low: Number(v & 0xffffffffn) }, id);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('refuses what parseIdString refuses: no digits, other characters, more than 20 digits', () => {
    for (const id of ['', '-1', '+1', ' 1', '1 ', '1e3', '0x10', '１', '1'.repeat(21)]) {
      assert.equal(halves(id), undefined, JSON.stringify(id));
    }
  });
});
