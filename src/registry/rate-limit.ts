/**
 * A token bucket per key (a principal). It keeps a crash-looping workload from churning nodes:
 * every grant that supersedes or follows a release also pushes a NATS revocation, so unbounded
 * churn would grow the account JWT. In memory, per registry process: replicas each allow the rate.
 */
import type { Clock } from '../clock.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {}

  /** Takes one token: 0 when granted, else the whole seconds until one is available. */
  take(key: string): number {
    if (this.perSecond <= 0) return 0;
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(key, b);
      this.forgetIdle(now);
      return 0;
    }
    this.buckets.set(key, b);
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }

  /** A bucket that has refilled is the same as no bucket: drop them so the map stays small. */
  private forgetIdle(now: number): void {
    if (this.buckets.size < 10_000) return;
    const full = (this.burst / this.perSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(k);
  }
}
