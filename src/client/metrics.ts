/**
 * The SDK's own measurements (the seed: "monitor ID entropy and latency under load"): IDs minted,
 * waits, fence events, renewal and publish latency. `node.metrics()` returns them; passed a
 * prom-client registry, a NodeLease also exposes them there (CLIENT_METRICS names them), summed
 * over the leases of a pool in the process.
 */
import type { Registry } from 'prom-client';

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface LatencySnapshot {
  count: number;
  /** Seconds. */
  sum: number;
  max: number;
  /** Upper bounds (s) and how many observations were at or below each. */
  buckets: Array<{ le: number; count: number }>;
}

export interface ClientMetrics {
  idsMinted: number;
  /** next() calls that waited for the next millisecond because its sequence was spent. */
  sequenceWaits: number;
  /** next() calls that found the clock stepped back (or behind the floor) and waited or refused. */
  clockStepWaits: number;
  /** Times the lease's fence passed with no renewal landed. */
  fenceEvents: number;
  renewals: number;
  renewFailures: number;
  /** Leases lost (gone at the registry, or unreachable past the fence) and acquired anew. */
  leasesLost: number;
  /** NATS connections replaced by a rotation. */
  rotations: number;
  /** Second copies of a message dropped during rotation overlaps. */
  duplicatesDropped: number;
  renewLatency: LatencySnapshot;
  /** Core publishes: the call (sampled); JetStream publishes: until the ack. */
  publishLatency: LatencySnapshot;
}

export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    if (seconds > this.max) this.max = seconds;
    const i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    if (i >= 0) this.counts[i]!++;
  }

  snapshot(): LatencySnapshot {
    let running = 0;
    const buckets = LATENCY_BUCKETS.map((le, i) => ({ le, count: (running += this.counts[i]!) }));
    return { count: this.count, sum: this.sum, max: this.max, buckets };
  }
}

/** The metric names a NodeLease registers (CONTRACT §7 `node.metrics()`), each with a `pool` label. */
export const CLIENT_METRICS = {
  idsMinted: 'snowgate_client_ids_minted_total',
  sequenceWaits: 'snowgate_client_sequence_waits_total',
  clockStepWaits: 'snowgate_client_clock_step_waits_total',
  fenceEvents: 'snowgate_client_fence_events_total',
  renewLatency: 'snowgate_client_renew_seconds',
  publishLatency: 'snowgate_client_publish_seconds',
} as const;

const HELP: Record<keyof typeof CLIENT_METRICS, string> = {
  idsMinted: 'Snowflake IDs minted',
  sequenceWaits: 'Mints that waited for the next millisecond, its sequence spent',
  clockStepWaits: 'Mints that found the wall clock stepped back or behind the floor',
  fenceEvents: "Times a lease's fence passed before a renewal landed",
  renewLatency: 'Lease renewal round trips',
  publishLatency: 'Publish latency: the call for core NATS (sampled), until the ack for JetStream',
};

type Source = { pool: string; read(): ClientMetrics };

/** Leases exposed per registry: one set of metrics per registry, however many leases use it. */
const sources = new WeakMap<Registry, Set<Source>>();

function byPool(set: Set<Source>): Map<string, ClientMetrics[]> {
  const m = new Map<string, ClientMetrics[]>();
  for (const s of set) m.set(s.pool, [...(m.get(s.pool) ?? []), s.read()]);
  return m;
}

/** Exposes a lease's metrics on `registry` until the returned function is called. */
export async function exposeMetrics(registry: Registry, pool: string, read: () => ClientMetrics): Promise<() => void> {
  const prom = await import('prom-client');
  let set = sources.get(registry);
  if (!set) {
    const all = new Set<Source>();
    sources.set(registry, all);
    set = all;
    const counter = (key: 'idsMinted' | 'sequenceWaits' | 'clockStepWaits' | 'fenceEvents') =>
      new prom.Counter({
        name: CLIENT_METRICS[key],
        help: HELP[key],
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [p, ms] of byPool(all))
            this.inc(
              { pool: p },
              ms.reduce((n, x) => n + x[key], 0),
            );
        },
      });
    counter('idsMinted');
    counter('sequenceWaits');
    counter('clockStepWaits');
    counter('fenceEvents');
    for (const key of ['renewLatency', 'publishLatency'] as const) {
      registry.registerMetric({
        name: CLIENT_METRICS[key],
        help: HELP[key],
        type: 'histogram',
        aggregator: 'sum',
        get: async () => ({
          name: CLIENT_METRICS[key],
          help: HELP[key],
          type: 'histogram',
          aggregator: 'sum',
          values: [...byPool(all)].flatMap(([p, ms]) =>
            histogramValues(
              CLIENT_METRICS[key],
              p,
              ms.map((x) => x[key]),
            ),
          ),
        }),
        reset: () => undefined,
      } as unknown as Parameters<Registry['registerMetric']>[0]);
    }
  }
  const source = { pool, read };
  set.add(source);
  return () => set.delete(source);
}

function histogramValues(name: string, pool: string, snaps: LatencySnapshot[]) {
  const sum = snaps.reduce((n, s) => n + s.sum, 0);
  const count = snaps.reduce((n, s) => n + s.count, 0);
  const buckets = LATENCY_BUCKETS.map((le, i) => ({
    metricName: `${name}_bucket`,
    labels: { pool, le },
    value: snaps.reduce((n, s) => n + s.buckets[i]!.count, 0),
  }));
  return [
    ...buckets,
    { metricName: `${name}_bucket`, labels: { pool, le: '+Inf' }, value: count },
    { metricName: `${name}_sum`, labels: { pool }, value: sum },
    { metricName: `${name}_count`, labels: { pool }, value: count },
  ];
}
