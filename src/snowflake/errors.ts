/**
 * Why a SnowflakeGenerator refused to mint, one class per rule, each with a stable `code` a caller
 * can switch on. `retryAfterMs` is set only when waiting that long is safe and may be enough: a
 * synchronous generator blocks for a few ms at most, so longer waits are left to async callers.
 */
export type GeneratorErrorCode =
  | 'fenced'
  | 'not_yet'
  | 'clock_moved_back'
  | 'clock_stalled'
  | 'time_exhausted'
  | 'node_out_of_range'
  | 'invalid_options';

export abstract class GeneratorError extends Error {
  abstract readonly code: GeneratorErrorCode;
  /** Ms after which the same call may succeed; undefined when waiting is no remedy. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = new.target.name;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Past the self-fencing deadline: the lease may be over, so only a renewal (a new `fence`) helps. */
export class Fenced extends GeneratorError {
  readonly code = 'fenced';
}

/**
 * The wall clock is at or below the lease's floor. Within maxBackwardStepMs this is the skew the
 * registry allows for (retryable); beyond it this clock disagrees with the registry's: refused.
 */
export class NotYet extends GeneratorError {
  readonly code = 'not_yet';
  constructor(
    message: string,
    readonly gapMs: number,
    retryAfterMs?: number,
  ) {
    super(message, retryAfterMs);
  }
}

/**
 * The wall clock is behind the last minted timestamp (or stalled on it with the sequence spent).
 * Small steps are retryable; steps beyond maxBackwardStepMs are refused until the clock catches up.
 */
export class ClockMovedBack extends GeneratorError {
  readonly code = 'clock_moved_back';
  constructor(
    message: string,
    readonly gapMs: number,
    retryAfterMs?: number,
  ) {
    super(message, retryAfterMs);
  }
}

/**
 * The wall clock stays on a millisecond whose sequence is spent, far longer than a millisecond by
 * the monotonic clock: it is not advancing. A spent sequence alone is waited out, never this.
 */
export class ClockStalled extends GeneratorError {
  readonly code = 'clock_stalled';
}

/** The next timestamp would not fit the layout's timestampBits: minting would wrap to the epoch. */
export class TimeExhausted extends GeneratorError {
  readonly code = 'time_exhausted';
}

/** A node number outside 0..2^nodeBits-1: masking it would mint another node's IDs. */
export class NodeOutOfRange extends GeneratorError {
  readonly code = 'node_out_of_range';
}

export class InvalidGeneratorOptions extends GeneratorError {
  readonly code = 'invalid_options';
}
