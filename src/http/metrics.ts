/** The registry's Prometheus metrics, on a registry of their own so several apps can share a process. */
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { PoolOccupancy } from '../registry/reads.js';
import type { ReadinessCheck } from './ports.js';

export class Metrics {
  readonly registry = new PromRegistry();
  readonly requestSeconds = new Histogram({
    name: 'snowgate_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly leaseOps = new Counter({
    name: 'snowgate_lease_operations_total',
    help: 'Lease operations by outcome (the problem code, or ok)',
    labelNames: ['op', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly tokenRejections = new Counter({
    name: 'snowgate_token_rejections_total',
    help: 'Refused bearer tokens by configured issuer (none: no issuer matched) and reason',
    labelNames: ['issuer', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(occupancy: () => Promise<PoolOccupancy[]>) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'snowgate_pool_nodes',
      help: 'Nodes of each pool by state',
      labelNames: ['pool', 'state'] as const,
      registers: [this.registry],
      async collect() {
        for (const o of await occupancy()) {
          this.set({ pool: o.pool.name, state: 'leased' }, o.leased);
          this.set({ pool: o.pool.name, state: 'pinned' }, o.pinned);
          this.set({ pool: o.pool.name, state: 'free' }, o.free);
        }
      },
    });
  }

  /** Each readiness check as 1 (passes) or 0, at scrape time: what an alert on NATS or the store reads. */
  watchReadiness(checks: readonly ReadinessCheck[]): void {
    new Gauge({
      name: 'snowgate_ready',
      help: 'Whether each readiness check (store, nats) passes: 1, or fails: 0',
      labelNames: ['check'] as const,
      registers: [this.registry],
      async collect() {
        await Promise.all(
          checks.map(async (c) => {
            const ok = await c.check().then(
              () => 1,
              () => 0,
            );
            this.set({ check: c.name }, ok);
          }),
        );
      },
    });
  }
}
