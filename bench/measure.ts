/**
 * A rate over wall time: `inFlight` workers each run the operation back to back, first for a
 * warm-up that is not counted (JIT, SQLite's page cache, first-use key imports), then for the
 * measured window. Operations started inside the window finish and count, and the clock stops
 * when the last one lands, so the tail neither inflates nor deflates the rate.
 */
import { performance } from 'node:perf_hooks';

export type Operation = (worker: number) => Promise<unknown>;

export interface MeasureOptions {
  warmupMs: number;
  durationMs: number;
  /** Operations in flight at once; each worker passes its own index (its own principal). */
  inFlight: number;
  /** Stop early after this many: slow variants get a count, not minutes of wall time. */
  maxOps?: number;
}

export interface Rate {
  ops: number;
  seconds: number;
  perSecond: number;
}

async function runFor(op: Operation, ms: number, inFlight: number, maxOps: number): Promise<number> {
  const until = performance.now() + ms;
  let started = 0;
  let done = 0;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < until && started < maxOps) {
      started++;
      await op(w);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return done;
}

async function timed(op: Operation, ms: number, inFlight: number, maxOps: number): Promise<Rate> {
  const start = performance.now();
  const ops = await runFor(op, ms, inFlight, maxOps);
  const seconds = (performance.now() - start) / 1000;
  return { ops, seconds, perSecond: ops / seconds };
}

export async function measure(op: Operation, o: MeasureOptions): Promise<Rate> {
  await runFor(op, o.warmupMs, o.inFlight, Infinity);
  return timed(op, o.durationMs, o.inFlight, o.maxOps ?? Infinity);
}

/**
 * Several operations in alternating slices of one window each. On a shared machine the load
 * from other processes swings by 2x within seconds; back-to-back windows would put a swing into
 * the ratio, alternating slices spread it over every operation alike.
 */
export async function measureInterleaved(ops: Operation[], o: MeasureOptions, slices: number): Promise<Rate[]> {
  for (const op of ops) await runFor(op, o.warmupMs, o.inFlight, Infinity);
  const totals = ops.map(() => ({ ops: 0, seconds: 0 }));
  for (let s = 0; s < slices; s++) {
    for (const [i, op] of ops.entries()) {
      const r = await timed(op, o.durationMs / slices, o.inFlight, Infinity);
      totals[i]!.ops += r.ops;
      totals[i]!.seconds += r.seconds;
    }
  }
  return totals.map((t) => ({ ...t, perSecond: t.ops / t.seconds }));
}
