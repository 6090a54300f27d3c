/**
 * What the verifier keeps per pool: its layout with a BigInt-free decoder, each node's last ID
 * (for order) and the lease each node's IDs last named (so a steady stream asks the cache nothing).
 */
import { decodeId, parseIdString } from '../snowflake/codec.js';
import type { LayoutJson, LineageLeaseJson } from './wire.js';

/** The last ID seen of a node, as (timestamp, sequence): within a node that is the IDs' order. */
export interface Last {
  timestampMs: number;
  sequence: number;
}

/** Who held a node over (from, to], as the lineage cache last answered. */
export interface Held {
  from: number;
  to: number;
  lease: LineageLeaseJson;
}

/**
 * A pool's layout, with a decoder that needs no BigInt when the node and sequence bits leave the
 * timestamp room in a double (14 to 49 of them: every layout in use). Decoding writes its fields
 * here, so a check allocates nothing for them.
 */
export class PoolInfo {
  readonly epochMs: number;
  /** The last ID per node, for order. */
  readonly last = new Map<number, Last>();
  /** The lease each node's IDs last named, so a steady stream asks the cache nothing. */
  readonly held = new Map<number, Held>();
  private readonly lowSpan: number;
  private readonly seqSpan: number;
  private readonly timeSpan: number;
  private readonly fast: boolean;
  timestampMs = 0;
  node = 0;
  sequence = 0;

  constructor(
    readonly name: string,
    readonly layout: LayoutJson,
  ) {
    this.epochMs = Date.parse(layout.epoch);
    if (Number.isNaN(this.epochMs)) throw new TypeError(`pool ${name}: its layout's epoch is not a time`);
    const low = layout.nodeBits + layout.sequenceBits;
    this.lowSpan = 2 ** low;
    this.seqSpan = 2 ** layout.sequenceBits;
    this.timeSpan = 2 ** layout.timestampBits;
    this.fast = low >= 14 && low <= 49 && layout.timestampBits + low <= 63 && Number.isSafeInteger(this.epochMs);
  }

  /**
   * Decodes a decimal ID as parseIdString and decodeId would, or returns false where they throw.
   * Digit by digit into (id >> low, id & (2^low - 1)): every step is exact in a double.
   */
  decode(id: string): boolean {
    if (!this.fast) return this.decodeBig(id);
    const n = id.length;
    if (n === 0 || n > 20) return false;
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < n; i++) {
      const d = id.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return false;
      const x = lo * 10 + d;
      const carry = Math.floor(x / this.lowSpan);
      lo = x - carry * this.lowSpan;
      hi = hi * 10 + carry;
    }
    if (hi >= this.timeSpan) return false; // wider than the layout
    this.timestampMs = this.epochMs + hi;
    this.node = Math.floor(lo / this.seqSpan);
    this.sequence = lo - this.node * this.seqSpan;
    return true;
  }

  private decodeBig(id: string): boolean {
    try {
      const f = decodeId(this.layout, this.epochMs, parseIdString(id));
      this.timestampMs = f.timestampMs;
      this.node = f.node;
      this.sequence = f.sequence;
      return true;
    } catch {
      return false;
    }
  }
}

export function poolMap(pools: Record<string, LayoutJson>): Map<string, PoolInfo> {
  return new Map(Object.entries(pools).map(([name, layout]) => [name, new PoolInfo(name, layout)]));
}

/** The interval the lineage cache keeps a lease for (lineage-cache.ts): (notBefore, end]. */
export function heldBy(lease: LineageLeaseJson): Held {
  const from = Date.parse(lease.notBefore);
  const to = Math.min(Date.parse(lease.expiresAt), lease.endedAt ? Date.parse(lease.endedAt) : Infinity);
  return { from, to, lease };
}
