/**
 * Mints Snowflake IDs for one leased node, and refuses whenever an ID could collide: past the
 * lease's self-fencing deadline, at or below its floor, when the clock steps back, when the
 * sequence is spent, or when the time bits run out. See DESIGN "The uniqueness argument".
 */
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../clock.js';
import {
  ClockMovedBack,
  ClockStalled,
  Fenced,
  InvalidGeneratorOptions,
  NodeOutOfRange,
  NotYet,
  TimeExhausted,
} from './errors.js';
import { layoutProblem, type Layout } from './layout.js';

export interface GeneratorOptions {
  /** Bit widths. A layout as the API shows it (with `epoch`) also supplies the epoch. */
  layout: Layout & { epoch?: string };
  /** The pool's epoch in Unix ms; defaults to `layout.epoch`. */
  epochMs?: number;
  node: number;
  /** The lease's floor (Unix ms, or RFC 3339 as the API sends it): every timestamp is after it. */
  notBefore: number | string;
  /**
   * Monotonic ms at which minting stops until `fence` moves it (see `fenceDeadline`). Defaults to
   * never, for a node not leased from a registry; a lease keeper must always pass it.
   */
  fenceAt?: number;
  /** The largest clock step back (or lag behind the floor) worth waiting out: maxClockSkew. */
  maxBackwardStepMs?: number;
  /** The longest next() blocks the thread, spinning on the clock; longer waits throw, retryable. */
  maxBlockMs?: number;
  /** Wall clock, Unix ms. */
  clock?: Clock;
  /** Monotonic ms (default performance.now): only it measures the fence, so no clock step moves it. */
  monotonic?: () => number;
}

export const DEFAULT_MAX_BACKWARD_STEP_MS = 2000;
/** Enough for a spent sequence (under 1 ms) and small steps, short enough not to stall an event loop. */
export const DEFAULT_MAX_BLOCK_MS = 5;

/**
 * The self-fencing deadline on this process's monotonic clock: the lease's remaining time by the
 * registry's own clock (`expiresAt - now` from its answer), counted from when the request was
 * *sent*, less maxClockSkew. Neither this machine's wall clock nor a pause can stretch it.
 */
export function fenceDeadline(g: {
  sentAtMonotonic: number;
  expiresAtMs: number;
  registryNowMs: number;
  maxClockSkewMs: number;
}): number {
  return g.sentAtMonotonic + (g.expiresAtMs - g.registryNowMs) - g.maxClockSkewMs;
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

function instant(v: number | string | undefined, what: string): number {
  const ms = typeof v === 'string' ? Date.parse(v) : v;
  if (ms === undefined || !Number.isFinite(ms)) throw new InvalidGeneratorOptions(`${what} is not a valid instant`);
  return Math.floor(ms);
}

function duration(v: number | undefined, fallback: number, min: number, what: string): number {
  const ms = v ?? fallback;
  if (!(ms >= min) || !Number.isFinite(ms)) throw new InvalidGeneratorOptions(`${what} must be a number >= ${min}`);
  return ms;
}

/** What a generator has done, for metrics: counts since it was made. */
export interface GeneratorStats {
  minted: number;
  /** next() calls that found this millisecond's sequence spent and waited for the next one. */
  sequenceWaits: number;
  /** next() calls that found the clock behind the last minted timestamp (or the floor) and waited. */
  clockStepWaits: number;
}

/**
 * A spent sequence waits for the next millisecond however long the scheduler keeps this thread
 * away: on waking, the re-read clock has moved on. Only a wall clock that stays on the spent
 * millisecond this long by the monotonic clock is stalled (or stepped back by exactly that much).
 */
const STALL_MS = 250;
/** The same for clocks that never move at all (a frozen test clock): spins, not milliseconds. */
const STALL_SPINS = 10_000_000;
/** Digits of an ID's tail kept as a JS number, so nextString() adds the sequence without BigInt. */
const TAIL = 1_000_000_000;
const TAIL_BIG = BigInt(TAIL);
/**
 * Slack for the two clocks' rounding when the monotonic clock vouches for the wall millisecond.
 * Wall and monotonic clocks tick at one rate (NTP slews both), so this only absorbs rounding.
 */
const SAME_MS_SLACK = 0.005;

export class SnowflakeGenerator {
  readonly node: number;
  readonly stats: GeneratorStats = { minted: 0, sequenceWaits: 0, clockStepWaits: 0 };
  private readonly epochMs: number;
  /** The greatest timestamp never to mint: the floor, or the instant before the epoch. */
  private readonly floor: number;
  private readonly maxTimestamp: number;
  private readonly maxSequence: number;
  private readonly timestampShift: bigint;
  private readonly nodeField: bigint;
  private readonly maxBackwardStepMs: number;
  private readonly maxBlockMs: number;
  private readonly clock: Clock;
  private readonly monotonic: () => number;
  private fenceAt = Infinity;
  /** The last minted (timestamp, sequence). Starts at (floor, spent) so the floor needs no rule of its own. */
  private lastTimestamp: number;
  private lastSequence: number;
  /** The ID of (lastTimestamp, sequence 0), and its decimal form split at TAIL, for nextString(). */
  private base = 0n;
  private baseHead = '';
  private baseTail = 0;
  /**
   * Reading the wall clock costs as much as minting does, so after seeing it turn to a new
   * millisecond the generator knows, from the monotonic clock alone, that it has not turned again:
   * the wall clock read `lastWall` after the monotonic clock read `lastWallMonotonic`; one that later
   * reads one more ticked after that instant, and stays on that millisecond for a millisecond. Until
   * `sameWallUntil` (monotonic) the wall clock is still `sameWall`, unread. A step (any other
   * change) vouches for nothing, so a wall clock stepped by hand or by NTP is read at every call.
   */
  private lastWall = -Infinity;
  private lastWallMonotonic = -Infinity;
  private sameWall = NaN;
  private sameWallUntil = -Infinity;

  constructor(o: GeneratorOptions) {
    const { timestampBits, nodeBits, sequenceBits } = o.layout;
    const problem = layoutProblem({ timestampBits, nodeBits, sequenceBits });
    if (problem) throw new InvalidGeneratorOptions(`layout: ${problem}`);
    // Never masked or taken modulo: node 1024 on 10 bits would silently mint node 0's IDs.
    if (!Number.isSafeInteger(o.node) || o.node < 0 || o.node >= 2 ** nodeBits) {
      throw new NodeOutOfRange(`node ${o.node} is outside 0-${2 ** nodeBits - 1} (nodeBits ${nodeBits})`);
    }
    this.node = o.node;
    this.epochMs = instant(o.epochMs ?? o.layout.epoch, 'epochMs (or layout.epoch)');
    this.floor = Math.max(instant(o.notBefore, 'notBefore'), this.epochMs - 1);
    // Past 2^53 a JS number no longer counts milliseconds exactly; no real layout gets there.
    this.maxTimestamp = Math.min(this.epochMs + 2 ** timestampBits - 1, Number.MAX_SAFE_INTEGER);
    this.maxSequence = 2 ** sequenceBits - 1;
    this.timestampShift = BigInt(nodeBits + sequenceBits);
    this.nodeField = BigInt(o.node) << BigInt(sequenceBits);
    this.maxBackwardStepMs = duration(o.maxBackwardStepMs, DEFAULT_MAX_BACKWARD_STEP_MS, 0, 'maxBackwardStepMs');
    // At least 1 ms, or a small step back could never be waited out.
    this.maxBlockMs = duration(o.maxBlockMs, DEFAULT_MAX_BLOCK_MS, 1, 'maxBlockMs');
    this.clock = o.clock ?? systemClock;
    this.monotonic = o.monotonic ?? (() => performance.now());
    if (o.fenceAt !== undefined) this.fence(o.fenceAt);
    this.lastTimestamp = this.floor;
    this.lastSequence = this.maxSequence;
  }

  /**
   * Sets the self-fencing deadline, on the monotonic clock. A lease keeper calls it with each
   * renewal's `fenceDeadline` (later: minting resumes if it had stopped) and with no argument when
   * the lease ends or is lost (stop now). Each deadline is safe on its own, so it may also move back.
   */
  fence(untilMonotonicMs = -Infinity): void {
    if (Number.isNaN(untilMonotonicMs)) throw new InvalidGeneratorOptions('fence deadline is NaN');
    this.fenceAt = untilMonotonicMs;
  }

  /** Whether next() would throw `fenced` now. */
  get fenced(): boolean {
    return this.monotonic() >= this.fenceAt;
  }

  /** The next ID. Throws a GeneratorError rather than mint one that could collide. */
  next(): bigint {
    this.step();
    return this.lastSequence === 0 ? this.base : this.base | BigInt(this.lastSequence);
  }

  /** The next ID as a decimal string: what JSON, headers and logs carry; never a JS number. */
  nextString(): string {
    this.step();
    const tail = this.baseTail + this.lastSequence;
    if (tail < TAIL) return this.baseHead === '' ? String(tail) : this.baseHead + String(tail).padStart(9, '0');
    return (this.base | BigInt(this.lastSequence)).toString(); // the sequence carried into the head
  }

  /** Moves (lastTimestamp, lastSequence) to the pair the next ID carries, or throws. */
  private step(): void {
    const now = this.monotonic();
    this.checkFence(now);
    // The fast path: the fence checked, the wall clock vouched for by the monotonic one. At worst
    // (a wall clock stepped within that millisecond) an ID carries the instant read a moment ago.
    if (now < this.sameWallUntil && this.sameWall === this.lastTimestamp && this.lastSequence < this.maxSequence) {
      this.lastSequence++;
      this.stats.minted++;
      return;
    }
    const t = this.readWall(now);
    if (t > this.lastTimestamp) return this.enter(t);
    if (t === this.lastTimestamp && this.lastSequence < this.maxSequence) {
      this.lastSequence++;
      this.stats.minted++;
      return;
    }
    this.slowStep(t);
  }

  /** The wall clock in whole ms, read just after the monotonic clock read `monotonicNow`. */
  private readWall(monotonicNow: number): number {
    const t = Math.floor(this.clock.now());
    if (!Number.isSafeInteger(t)) throw new InvalidGeneratorOptions(`the clock read ${t}, not a time in ms`);
    if (t === this.lastWall + 1) {
      this.sameWall = t;
      this.sameWallUntil = this.lastWallMonotonic + 1 - SAME_MS_SLACK;
    } else if (t !== this.lastWall) {
      this.sameWallUntil = -Infinity; // a step, not a tick: read it every time until it ticks again
    }
    this.lastWall = t;
    this.lastWallMonotonic = monotonicNow;
    return t;
  }

  /** A fresh millisecond (above the last, so above the floor): sequence 0. */
  private enter(t: number): void {
    this.checkFits(t);
    this.lastTimestamp = t;
    this.lastSequence = 0;
    this.base = (BigInt(t - this.epochMs) << this.timestampShift) | this.nodeField;
    this.baseHead = this.base >= TAIL_BIG ? (this.base / TAIL_BIG).toString() : '';
    this.baseTail = Number(this.base % TAIL_BIG);
    this.stats.minted++;
  }

  /**
   * The clock is behind the last minted timestamp (or the floor), or on it with the sequence
   * spent. The earliest timestamp allowed is settled before the sequence is touched, so a refused
   * step back leaves the sequence as it was (Twitter's #6: resetting it first re-issued pairs).
   */
  private slowStep(first: number): void {
    const spent = this.lastSequence >= this.maxSequence;
    const earliest = spent ? this.lastTimestamp + 1 : this.lastTimestamp;
    this.checkFits(Math.max(first, earliest));
    const t = this.waitFor(earliest, first, spent && first === this.lastTimestamp);
    if (t > this.lastTimestamp) return this.enter(t);
    this.lastSequence++;
    this.stats.minted++;
  }

  private checkFence(now: number): void {
    if (now >= this.fenceAt) {
      throw new Fenced(
        `lease fenced ${Math.round(now - this.fenceAt)} ms ago (monotonic); no IDs until a renewal moves the fence`,
      );
    }
  }

  private checkFits(t: number): void {
    if (t > this.maxTimestamp) {
      throw new TimeExhausted(
        `timestamp ${iso(t)} does not fit the layout's time bits (last is ${iso(this.maxTimestamp)}); ` +
          'minting would wrap to the epoch: the pool needs a new epoch or layout',
      );
    }
  }

  /**
   * Spins until the wall clock reaches `earliest`, re-reading it every turn (a stale value would
   * mint in the past or wait forever), and returns it. A spent sequence (`sequenceWait`) waits as
   * long as it takes; a step back (or a lag behind the floor) at most maxBlockMs, then throws,
   * retryable when the step is within maxBackwardStepMs. The fence passing meanwhile stops it.
   */
  private waitFor(earliest: number, first: number, sequenceWait: boolean): number {
    if (sequenceWait) this.stats.sequenceWaits++;
    else this.stats.clockStepWaits++;
    const started = this.monotonic();
    for (let t = first, spins = 0; ; spins++) {
      // The monotonic clock first, the wall clock after: a thread descheduled between the two then
      // sees the wall clock that moved meanwhile instead of mistaking the pause for a stuck clock.
      const now = this.monotonic();
      this.checkFence(now);
      t = spins === 0 ? first : this.readWall(now);
      if (t >= earliest) return t;
      const waited = now - started;
      if (sequenceWait && t === this.lastTimestamp) {
        if (waited > STALL_MS || spins > STALL_SPINS) throw this.stalled(t, waited);
        continue;
      }
      sequenceWait = false; // the clock stepped back while waiting: now it is a step back
      const blockedTooLong = earliest - t > this.maxBlockMs || waited > this.maxBlockMs;
      if (this.lastTimestamp === this.floor) {
        // Nothing minted yet. Allocation hands out nodes whose floor has passed, so a lag behind it
        // is this clock's skew against the registry's: tolerable up to maxClockSkew.
        const ok = this.floor - t <= this.maxBackwardStepMs;
        if (!ok || blockedTooLong || spins > STALL_SPINS) throw this.notYet(t, earliest - t, ok);
      } else {
        const back = this.lastTimestamp - t;
        const ok = back <= this.maxBackwardStepMs;
        if (!ok || blockedTooLong || spins > STALL_SPINS) throw this.movedBack(t, back, earliest - t, ok);
      }
    }
  }

  private stalled(t: number, waitedMs: number): ClockStalled {
    return new ClockStalled(
      `the clock has stayed at ${iso(t)} for ${Math.round(waitedMs)} ms (monotonic) with this millisecond's ` +
        'sequence spent: the wall clock is not advancing',
      1,
    );
  }

  private notYet(t: number, wait: number, retryable: boolean): NotYet {
    const msg = `the clock (${iso(t)}) is ${this.floor - t + 1} ms short of passing this lease's floor ${iso(this.floor)}`;
    return retryable
      ? new NotYet(`${msg}: retry in ${wait} ms`, this.floor - t, wait)
      : new NotYet(
          `${msg}, more than maxBackwardStepMs (${this.maxBackwardStepMs}): this clock is behind the registry's`,
          this.floor - t,
        );
  }

  private movedBack(t: number, back: number, wait: number, retryable: boolean): ClockMovedBack {
    const msg = `the clock (${iso(t)}) stepped back ${back} ms behind the last minted timestamp ${iso(this.lastTimestamp)}`;
    return retryable
      ? new ClockMovedBack(`${msg}: retry in ${wait} ms`, back, wait)
      : new ClockMovedBack(
          `${msg}, more than maxBackwardStepMs (${this.maxBackwardStepMs}): refusing to mint until it passes it`,
          back,
        );
  }
}
