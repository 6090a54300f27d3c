/**
 * Mints Snowflake IDs for one leased node, and refuses whenever an ID could collide: past the
 * lease's self-fencing deadline, at or below its floor, when the clock steps back, when the
 * sequence is spent, or when the time bits run out. See DESIGN "The uniqueness argument".
 */
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../clock.js';
import { ClockMovedBack, Fenced, InvalidGeneratorOptions, NodeOutOfRange, NotYet, TimeExhausted } from './errors.js';
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

export class SnowflakeGenerator {
  readonly node: number;
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
    // At least 1 ms, or a spent sequence could never wait for the next millisecond.
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

  /** The next ID. Throws a GeneratorError rather than mint one that could collide. */
  next(): bigint {
    this.checkFence(this.monotonic());
    let t = this.wall();
    // The earliest timestamp allowed now: the last one while its sequence has room, else the next.
    // Settled before the sequence is touched, so a refused step back leaves the sequence as it was
    // (Twitter's #6: resetting it first re-issued (timestamp, sequence) pairs after the step).
    const earliest = this.lastSequence < this.maxSequence ? this.lastTimestamp : this.lastTimestamp + 1;
    this.checkFits(Math.max(t, earliest));
    if (t < earliest) t = this.waitFor(earliest, t);
    this.checkFits(t);
    const sequence = t === this.lastTimestamp ? this.lastSequence + 1 : 0;
    const id = (BigInt(t - this.epochMs) << this.timestampShift) | this.nodeField | BigInt(sequence);
    this.lastTimestamp = t;
    this.lastSequence = sequence;
    return id;
  }

  /** The next ID as a decimal string: what JSON, headers and logs carry; never a JS number. */
  nextString(): string {
    return this.next().toString();
  }

  private wall(): number {
    const t = Math.floor(this.clock.now());
    if (!Number.isSafeInteger(t)) throw new InvalidGeneratorOptions(`the clock read ${t}, not a time in ms`);
    return t;
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
   * mint in the past or wait forever). Throws instead when the lag is too large to trust, when the
   * wait would block longer than maxBlockMs, or when the fence passes meanwhile.
   */
  private waitFor(earliest: number, first: number): number {
    const started = this.monotonic();
    for (let t = first; ; t = this.wall()) {
      if (t >= earliest) return t;
      const wait = earliest - t;
      const now = this.monotonic();
      this.checkFence(now);
      const blockedTooLong = wait > this.maxBlockMs || now - started > this.maxBlockMs;
      if (this.lastTimestamp === this.floor) {
        // Nothing minted yet. Allocation hands out nodes whose floor has passed, so a lag behind it
        // is this clock's skew against the registry's: tolerable up to maxClockSkew.
        const ok = this.floor - t <= this.maxBackwardStepMs;
        if (!ok || blockedTooLong) throw this.notYet(t, wait, ok);
      } else {
        const back = this.lastTimestamp - t; // 0 when the clock merely has not left a spent millisecond
        const ok = back <= this.maxBackwardStepMs;
        if (!ok || blockedTooLong) throw this.movedBack(t, back, wait, ok);
      }
    }
  }

  private notYet(t: number, wait: number, retryable: boolean): NotYet {
    const msg = `the clock (${iso(t)}) is not past this lease's floor ${iso(this.floor)}`;
    return retryable
      ? new NotYet(`${msg}: retry in ${wait} ms`, this.floor - t, wait)
      : new NotYet(
          `${msg} by more than maxBackwardStepMs (${this.maxBackwardStepMs}): this clock is behind the registry's`,
          this.floor - t,
        );
  }

  private movedBack(t: number, back: number, wait: number, retryable: boolean): ClockMovedBack {
    const msg = `the clock (${iso(t)}) is ${back} ms behind the last minted timestamp ${iso(this.lastTimestamp)}`;
    return retryable
      ? new ClockMovedBack(`${msg}: retry in ${wait} ms`, back, wait)
      : new ClockMovedBack(
          `${msg}, more than maxBackwardStepMs (${this.maxBackwardStepMs}): refusing to mint until it passes it`,
          back,
        );
  }
}
