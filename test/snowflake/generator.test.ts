import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeId, encodeId } from '../../src/snowflake/codec.js';
import { ClockMovedBack, GeneratorError, NotYet } from '../../src/snowflake/errors.js';
import { fenceDeadline, SnowflakeGenerator, type GeneratorOptions } from '../../src/snowflake/generator.js';
import { DEFAULT_LAYOUT, type Layout } from '../../src/snowflake/layout.js';

const EPOCH = Date.parse('2024-01-01T00:00:00Z');
const T0 = Date.parse('2025-06-01T12:00:00Z');

/** Both clocks, moved by hand; with tickEvery > 0 both also advance 1 ms every tickEvery wall reads. */
class FakeTime {
  mono = 1_000;
  private reads = 0;
  constructor(
    public wall = T0,
    public tickEvery = 0,
  ) {}
  readonly clock = {
    now: (): number => {
      if (this.tickEvery > 0 && ++this.reads % this.tickEvery === 0) this.pass(1);
      return this.wall;
    },
  };
  /** While ticking it also creeps 10 ns a read: a generator spinning on a stale wall value fails, not hangs. */
  readonly monotonic = (): number => (this.tickEvery > 0 ? (this.mono += 1e-5) : this.mono);
  /** Real time going by: both clocks move. A wall-clock step alone is `wall += ms`. */
  pass(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
}

function gen(time: FakeTime, o: Partial<GeneratorOptions> = {}): SnowflakeGenerator {
  const base = { layout: DEFAULT_LAYOUT, epochMs: EPOCH, node: 42, notBefore: T0 - 10_000 };
  return new SnowflakeGenerator({ ...base, clock: time.clock, monotonic: time.monotonic, ...o });
}
const dec = (id: bigint, l: Layout = DEFAULT_LAYOUT) => decodeId(l, EPOCH, id);
const mint = (g: SnowflakeGenerator, n: number): bigint[] => Array.from({ length: n }, () => g.next());
const code =
  (c: string, extra: Record<string, unknown> = {}) =>
  (e: unknown) =>
    e instanceof GeneratorError && e.code === c && Object.entries(extra).every(([k, v]) => (e as never)[k] === v);

function assertIncreasing(ids: bigint[]): void {
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `ID ${i} is not above ID ${i - 1}`);
}

describe('SnowflakeGenerator basics', () => {
  it('mints bigint IDs with the node and timestamp in place, and exact decimal strings', () => {
    const g = gen(new FakeTime());
    assert.equal(g.next(), encodeId(DEFAULT_LAYOUT, EPOCH, { timestampMs: T0, node: 42, sequence: 0 }));
    const s = g.nextString();
    assert.equal(s, encodeId(DEFAULT_LAYOUT, EPOCH, { timestampMs: T0, node: 42, sequence: 1 }).toString());
    assert.notEqual(String(Number(s)), s, 'a JS number would have rounded it');
  });

  it('takes the layout and floor as the API sends them (epoch and notBefore as RFC 3339)', () => {
    const g = gen(new FakeTime(), {
      layout: { ...DEFAULT_LAYOUT, epoch: '2024-01-01T00:00:00.000Z' },
      epochMs: undefined,
      notBefore: new Date(T0 - 1).toISOString(),
    });
    assert.equal(dec(g.next()).timestampMs, T0);
  });

  it('refuses options it cannot mint safely with', () => {
    const time = new FakeTime();
    for (const o of [{ notBefore: 'soon' }, { epochMs: NaN }, { maxBlockMs: 0 }, { maxBackwardStepMs: -1 }]) {
      assert.throws(() => gen(time, o), code('invalid_options'), JSON.stringify(o));
    }
    assert.throws(() => gen(time, { layout: { timestampBits: 41, nodeBits: 11, sequenceBits: 12 } }), /more than 63/);
  });
});

describe('SnowflakeGenerator against the failure modes of DESIGN', () => {
  it('(5) waits out a small step back, re-reading the clock, and mints above what it minted', () => {
    const time = new FakeTime();
    const g = gen(time);
    const before = mint(g, 3);
    time.wall -= 3;
    time.tickEvery = 1;
    const after = g.next();
    assert.ok(time.wall >= T0, 'it waited for the clock to come back');
    assert.deepEqual(dec(after), { timestampMs: T0, node: 42, sequence: 3 });
    assertIncreasing([...before, after]);
  });

  it('(5) a step back longer than it may block is retryable; one beyond maxBackwardStepMs is refused', () => {
    const time = new FakeTime();
    const g = gen(time);
    const first = g.next();
    time.wall -= 500;
    assert.throws(() => g.next(), code('clock_moved_back', { gapMs: 500, retryAfterMs: 500 }));
    time.pass(500);
    const second = g.next();
    time.wall -= 5_000;
    for (let i = 0; i < 3; i++) assert.throws(() => g.next(), code('clock_moved_back', { retryAfterMs: undefined }));
    time.pass(5_001);
    assertIncreasing([first, second, g.next()]);
  });

  it('(5) across a restart: a new generator floored at the last minted timestamp never goes below it', () => {
    const time = new FakeTime();
    const old = mint(gen(time), 100);
    const last = dec(old.at(-1)!).timestampMs;
    const restarted = (wall: number) => gen(new FakeTime(wall, 1), { notBefore: last });
    assert.throws(() => gen(new FakeTime(last - 300), { notBefore: last }).next(), NotYet);
    assert.throws(() => restarted(last - 3_000).next(), code('not_yet', { retryAfterMs: undefined }));
    const g = restarted(last - 3); // the restarted process's clock is a little behind: it waits
    const fresh = mint(g, 100);
    assert.ok(dec(fresh[0]!).timestampMs > last);
    assertIncreasing([...old, ...fresh]);
  });

  it('(5) a forward jump then its correction: no ID below the jumped timestamp until the clock passes it', () => {
    const time = new FakeTime();
    const g = gen(time);
    const ids = [g.next()];
    time.wall += 60_000;
    ids.push(g.next());
    time.wall -= 59_999; // NTP corrects the jump
    assert.throws(() => g.next(), code('clock_moved_back', { gapMs: 59_999, retryAfterMs: undefined }));
    time.wall += 59_999; // slewed back up to the jumped time: the sequence carries on
    ids.push(...mint(g, 3));
    time.wall += 1_000; // a small jump and correction is only a wait
    ids.push(g.next());
    time.wall -= 1_000;
    assert.throws(() => g.next(), code('clock_moved_back', { gapMs: 1_000, retryAfterMs: 1_000 }));
    time.pass(1_000);
    ids.push(g.next());
    assertIncreasing(ids);
  });

  it('(6) a step back is caught before the sequence resets: no (timestamp, sequence) is issued twice', () => {
    const time = new FakeTime();
    const g = gen(time);
    const ids = mint(g, 5);
    time.wall -= 1_000; // a naive generator resets the sequence here, then throws
    assert.throws(() => g.next(), ClockMovedBack);
    time.wall += 1_000; // back at T0: the same millisecond as before
    ids.push(g.next());
    assert.deepEqual(dec(ids.at(-1)!), { timestampMs: T0, node: 42, sequence: 5 });
    assert.equal(new Set(ids).size, ids.length);
  });

  it('(7) a million IDs in a tight loop: the sequence runs out, the clock is re-read, nothing repeats', () => {
    const time = new FakeTime(T0, 10_000); // 4096 IDs a millisecond use 4096 reads; the rest is waiting
    const g = gen(time);
    const ids = mint(g, 1_000_000);
    assertIncreasing(ids);
    assert.equal(new Set(ids).size, ids.length);
    let exhausted = 0;
    for (let i = 1; i < ids.length; i++) if (dec(ids[i - 1]!).sequence === 4095) exhausted++;
    assert.ok(exhausted >= 240, `the sequence ran out ${exhausted} times`);
    assert.equal(dec(ids.at(-1)!).timestampMs, T0 + Math.floor((ids.length - 1) / 4096));
  });

  it('(7) a spent sequence under a busy scheduler waits for the next millisecond and never reports a clock step', () => {
    // The thread is descheduled for 20 ms at a time while the wall clock still reads the spent
    // millisecond: blocking longer than maxBlockMs is no clock step, so it must not throw one.
    const time = new FakeTime();
    let reads = 0;
    const g = gen(time, {
      clock: { now: () => (++reads % 4100 === 0 ? ++time.wall : time.wall) },
      monotonic: () => (time.mono += 20),
    });
    const ids = mint(g, 4096 * 5);
    assertIncreasing(ids);
    assert.equal(g.stats.minted, ids.length);
    assert.ok(g.stats.sequenceWaits >= 4, `waited ${g.stats.sequenceWaits} times`);
    assert.equal(g.stats.clockStepWaits, 0);
  });

  it('(7) a wall clock that stops on a spent millisecond is reported as stalled, not as a step back', () => {
    const time = new FakeTime();
    const layout = { timestampBits: 41, nodeBits: 10, sequenceBits: 1 };
    const g = gen(time, { layout });
    mint(g, 2);
    const crawling = gen(time, { layout, monotonic: () => (time.mono += 1) });
    mint(crawling, 2);
    assert.throws(() => crawling.next(), code('clock_stalled', { retryAfterMs: 1 }));
    // Both clocks frozen (a test's clock): still an error, not a hang.
    assert.throws(() => g.next(), code('clock_stalled'));
    time.pass(1);
    assert.equal(dec(g.next(), layout).timestampMs, T0 + 1);
  });

  it('(3) a pause past the fence: next() throws fenced though the wall clock did not move', () => {
    const time = new FakeTime();
    // Sent at mono 1000; the registry said 3 s left; minus 2 s skew: fenced at mono 2000.
    const deadline = fenceDeadline({
      sentAtMonotonic: time.mono,
      expiresAtMs: T0 + 3_000,
      registryNowMs: T0,
      maxClockSkewMs: 2_000,
    });
    assert.equal(deadline, 2_000);
    const g = gen(time, { fenceAt: deadline });
    const ids = [g.next()];
    time.mono += 1_500; // a VM freeze: the wall clock was stopped too
    assert.throws(() => g.next(), code('fenced', { retryAfterMs: undefined }));
    g.fence(time.mono + 1_000); // a renewal landed
    ids.push(g.next());
    g.fence(); // the lease ended
    assert.throws(() => g.next(), code('fenced'));
    assertIncreasing(ids);
  });

  it('(3) a fence passing while waiting out a step back stops the wait', () => {
    const time = new FakeTime();
    const g = gen(time, { fenceAt: time.mono + 2 });
    g.next();
    time.wall -= 4;
    time.tickEvery = 1;
    assert.throws(() => g.next(), code('fenced'));
  });

  it('(4) the floor: no ID at or below notBefore even when the wall clock is behind it', () => {
    const floor = T0 + 2;
    assert.throws(() => gen(new FakeTime(T0 - 100), { notBefore: floor }).next(), code('not_yet', { gapMs: 102 }));
    for (const start of [floor, floor - 1, T0 - 3]) {
      const ts = mint(gen(new FakeTime(start, 1), { notBefore: floor }), 10).map((id) => dec(id).timestampMs);
      assert.ok(
        ts.every((t) => t > floor),
        `floor${start - floor}: ${ts.join()}`,
      );
    }
    // A floor before the epoch: a clock there still mints nothing before the epoch.
    assert.throws(() => gen(new FakeTime(EPOCH - 10_000), { notBefore: 0 }).next(), code('not_yet'));
  });

  it('(9) a node outside 0..2^nodeBits-1 is refused, never masked', () => {
    for (const node of [-1, 1024, 1025, 2 ** 32, 1.5, NaN, Infinity]) {
      assert.throws(() => gen(new FakeTime(), { node }), code('node_out_of_range'), String(node));
    }
    for (const node of [0, 1023]) assert.equal(dec(gen(new FakeTime(), { node }).next()).node, node);
  });

  it('(10) time bits running out: refused before the timestamp would wrap, even mid-millisecond', () => {
    const layout = { timestampBits: 4, nodeBits: 2, sequenceBits: 1 }; // timestamps EPOCH..EPOCH+15
    const time = new FakeTime(EPOCH + 14);
    const g = gen(time, { layout, node: 3, notBefore: EPOCH - 1 });
    const ids = mint(g, 2);
    time.wall += 1;
    ids.push(...mint(g, 2));
    assert.throws(() => g.next(), code('time_exhausted')); // the last millisecond's sequence is spent
    time.wall += 1;
    assert.throws(() => g.next(), /does not fit the layout's time bits/);
    const offsets = ids.map((id) => dec(id, layout).timestampMs - EPOCH);
    assert.deepEqual(offsets, [14, 14, 15, 15]);
    assertIncreasing(ids);
  });
});

describe('SnowflakeGenerator reads the wall clock once a millisecond', () => {
  /**
   * Clocks that agree, as the system's do: the wall clock is the monotonic one plus an offset. It
   * starts 1/1024 ms before T0 and each call moves it 1/1024 ms (binary fractions: no rounding).
   */
  const TICK = 1 / 1024;
  function agreeingClocks() {
    const c = { mono: 1_000 - TICK, offset: T0 - 1_000, wallReads: 0 };
    const clock = { now: () => (c.wallReads++, c.mono + c.offset) };
    return { c, g: gen(new FakeTime(), { clock, monotonic: () => c.mono }) };
  }

  it('once it has seen the wall clock tick, the monotonic one vouches for the rest of that millisecond', () => {
    // About a thousand IDs a millisecond, for ten milliseconds.
    const { c, g } = agreeingClocks();
    const ids: bigint[] = [];
    for (let i = 0; i < 10_240; i++, c.mono += TICK) {
      const id = g.next();
      assert.equal(dec(id).timestampMs, Math.floor(c.mono + c.offset), `ID ${i} carries another millisecond`);
      ids.push(id);
    }
    assertIncreasing(ids);
    // Each millisecond: the calls of its last few µs (the slack), then the one that sees the tick.
    assert.ok(c.wallReads < 150, `${c.wallReads} wall clock reads for 10,240 IDs over 10 ms`);
    assert.ok(c.wallReads >= 10, 'each millisecond was read at least once');
  });

  it('a step back inside a vouched-for millisecond is seen when it ends: IDs until then keep increasing', () => {
    const { c, g } = agreeingClocks();
    const ids: bigint[] = [];
    for (let i = 0; i < 1_500; i++, c.mono += TICK) ids.push(g.next()); // well inside the second millisecond
    c.offset -= 100; // NTP steps the wall clock back 100 ms
    const stepAt = c.mono;
    let thrown: unknown;
    for (; c.mono < stepAt + 2; c.mono += TICK) {
      try {
        ids.push(g.next());
      } catch (e) {
        thrown = e;
        break;
      }
    }
    assert.ok(code('clock_moved_back', { gapMs: 100 })(thrown), `not clock_moved_back: ${String(thrown)}`);
    assert.ok(c.mono - stepAt < 1, `seen ${c.mono - stepAt} ms after the step`);
    assertIncreasing(ids);
  });

  it('a clock that steps (moves by other than one) is read at every call until it ticks', () => {
    const time = new FakeTime();
    let reads = 0;
    const g = gen(time, { clock: { now: () => (reads++, time.wall) } });
    g.next();
    time.wall += 7; // a step forward: it vouches for nothing
    for (let i = 0; i < 5; i++) g.next();
    assert.equal(reads, 6);
  });
});

describe('SnowflakeGenerator properties', () => {
  const layoutArb = fc.record({
    timestampBits: fc.integer({ min: 24, max: 41 }),
    nodeBits: fc.integer({ min: 1, max: 10 }),
    sequenceBits: fc.integer({ min: 0, max: 3 }),
  });
  const actionArb = fc.record({
    // A wall-clock step either way: mostly within what is waited out, sometimes far beyond it.
    step: fc.oneof({ arbitrary: fc.integer({ min: -8, max: 8 }), weight: 4 }, fc.integer({ min: -3_000, max: 3_000 })),
    pass: fc.integer({ min: 0, max: 20 }),
    tickEvery: fc.integer({ min: 1, max: 20 }),
    mints: fc.integer({ min: 1, max: 30 }),
  });
  const caseArb = layoutArb.chain((layout) =>
    fc.record({
      layout: fc.constant({ ...layout }),
      node: fc.integer({ min: 0, max: 2 ** layout.nodeBits - 1 }),
      floorLag: fc.integer({ min: -50, max: 50 }),
      actions: fc.array(actionArb, { maxLength: 25 }),
    }),
  );

  it('every ID decodes to this node and a timestamp above the floor, strictly increasing, whatever the clock does', () => {
    let minted = 0;
    fc.assert(
      fc.property(caseArb, ({ layout, node, floorLag, actions }) => {
        const time = new FakeTime(EPOCH + 60_000);
        const notBefore = time.wall + floorLag;
        const g = gen(time, { layout, node, notBefore });
        const ids: bigint[] = [];
        for (const a of actions) {
          time.wall += a.step;
          time.pass(a.pass);
          time.tickEvery = a.tickEvery;
          for (let i = 0; i < a.mints; i++) {
            try {
              ids.push(g.next());
            } catch (e) {
              assert.ok(['not_yet', 'clock_moved_back'].includes((e as GeneratorError).code), String(e));
            }
          }
        }
        assertIncreasing(ids);
        minted += ids.length;
        for (const id of ids) {
          const f = dec(id, layout);
          assert.equal(f.node, node);
          assert.ok(f.timestampMs > notBefore);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(minted > 5_000, `only ${minted} IDs minted: the property would be vacuous`);
  });
});
