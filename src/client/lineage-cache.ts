/**
 * Who held a node when, as `/v1/lineage` answered, kept per lease interval so a steady stream
 * costs one lookup per lease (or per renewal of it), not per message.
 *
 * An answer is cached for the instants (notBefore, end] with end = endedAt when the lease ended
 * early, else its expiresAt as of the answer. That is never wider than what the registry itself
 * attributes to the lease, and the floor rule keeps the leases of a node disjoint there: a
 * released lease's successor starts after its release + maxClockSkew, any other's after its
 * expiry + maxClockSkew. Instants outside (a renewed lease, a zombie's late IDs) are asked again.
 */
import type { LineageLeaseJson } from './wire.js';

interface Interval {
  from: number;
  to: number;
  lease: LineageLeaseJson;
}

const MAX_PER_NODE = 16;
const MAX_EMPTY = 10_000;

export class LineageCache {
  private readonly byNode = new Map<string, Interval[]>();
  /** Instants the registry said nobody held (bogus or foreign IDs), so a flood of them is asked once. */
  private readonly empty = new Map<string, true>();

  get(pool: string, node: number, atMs: number): LineageLeaseJson | null | undefined {
    const list = this.byNode.get(`${pool}/${node}`);
    if (list) {
      // Newest first: a stream mostly asks about its node's current lease.
      for (let i = list.length - 1; i >= 0; i--) {
        const iv = list[i]!;
        if (atMs > iv.from && atMs <= iv.to) return iv.lease;
      }
    }
    return this.empty.has(`${pool}/${node}/${atMs}`) ? null : undefined;
  }

  put(pool: string, node: number, atMs: number, lease: LineageLeaseJson | null): void {
    if (!lease) {
      if (this.empty.size >= MAX_EMPTY) this.empty.delete(this.empty.keys().next().value!);
      this.empty.set(`${pool}/${node}/${atMs}`, true);
      return;
    }
    const from = Date.parse(lease.notBefore);
    const to = Math.min(Date.parse(lease.expiresAt), lease.endedAt ? Date.parse(lease.endedAt) : Infinity);
    if (!(atMs > from && atMs <= to)) return; // an answer that does not cover the asked instant teaches nothing
    const key = `${pool}/${node}`;
    const list = (this.byNode.get(key) ?? []).filter((iv) => iv.lease.id !== lease.id);
    list.push({ from, to, lease });
    list.sort((a, b) => a.from - b.from);
    if (list.length > MAX_PER_NODE) list.shift();
    this.byNode.set(key, list);
  }
}
