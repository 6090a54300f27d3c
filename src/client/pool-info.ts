/**
 * What the verifier keeps per pool: its layout with a BigInt-free decoder, each node's last ID
 * (for order) and the lease each node's IDs last named (so a steady stream asks the cache nothing).
 */
import { decodeId, parseIdString } from '../snowflake/codec.js';
import { parseHalves, type Halves } from './id-halves.js';
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

const TWO_32 = 2 ** 32;
/** An ID of 2^63 or more fits no layout: its high half is at least this. */
const SIGN_BIT_HIGH = 2 ** 31;

/**
 * A pool's layout, with a decoder that needs no BigInt when every field is exact in a double
 * (up to 53 bits below the timestamp, and timestamps that stay safe integers: every layout in
 * use). Decoding writes the ID's halves and fields here, so a check allocates nothing for them.
 */
export class PoolInfo implements Halves {
  readonly epochMs: number;
  /** The last ID per node, for order. */
  readonly last = new Map<number, Last>();
  /** The lease each node's IDs last named, so a steady stream asks the cache nothing. */
  readonly held = new Map<number, Held>();
  /** Bits below the timestamp: node and sequence. */
  private readonly lowBits: number;
  /** 2^lowBits, split at the halves: the timestamp is high * highScale + low / lowSpan (lowBits <= 32) or high / highSpan. */
  private readonly lowSpan: number;
  private readonly highScale: number;
  private readonly highSpan: number;
  private readonly seqSpan: number;
  private readonly timeSpan: number;
  private readonly fast: boolean;
  /** The decoded ID's value is high * 2^32 + low (the duplicate window's key). */
  high = 0;
  low = 0;
  timestampMs = 0;
  node = 0;
  sequence = 0;

  constructor(
    readonly name: string,
    readonly layout: LayoutJson,
  ) {
    this.epochMs = Date.parse(layout.epoch);
    if (Number.isNaN(this.epochMs)) throw new TypeError(`pool ${name}: its layout's epoch is not a time`);
    this.lowBits = layout.nodeBits + layout.sequenceBits;
    this.lowSpan = 2 ** Math.min(this.lowBits, 32);
    this.highScale = 2 ** Math.max(32 - this.lowBits, 0);
    this.highSpan = 2 ** Math.max(this.lowBits - 32, 0);
    this.seqSpan = 2 ** layout.sequenceBits;
    this.timeSpan = 2 ** layout.timestampBits;
    this.fast =
      this.lowBits <= 53 &&
      layout.timestampBits <= 53 &&
      layout.timestampBits + this.lowBits <= 63 &&
      Number.isSafeInteger(this.epochMs) &&
      this.epochMs + this.timeSpan - 1 <= Number.MAX_SAFE_INTEGER;
  }

  /** Decodes a decimal ID as parseIdString and decodeId would, or returns false where they throw. */
  decode(id: string): boolean {
    if (!this.fast) return this.decodeBig(id);
    if (!parseHalves(id, this) || this.high >= SIGN_BIT_HIGH) return false;
    const { high, low } = this;
    let ts: number;
    let rest: number;
    // Shifts by powers of two are exact in a double; a timestamp too wide to be exact is also
    // too wide for the layout (timeSpan <= 2^53), so the check below refuses it either way.
    if (this.lowBits <= 32) {
      const q = Math.floor(low / this.lowSpan);
      ts = high * this.highScale + q;
      rest = low - q * this.lowSpan;
    } else {
      ts = Math.floor(high / this.highSpan);
      rest = (high - ts * this.highSpan) * TWO_32 + low;
    }
    if (ts >= this.timeSpan) return false; // wider than the layout
    this.timestampMs = this.epochMs + ts;
    this.node = Math.floor(rest / this.seqSpan);
    this.sequence = rest - this.node * this.seqSpan;
    return true;
  }

  private decodeBig(id: string): boolean {
    try {
      const big = parseIdString(id);
      const f = decodeId(this.layout, this.epochMs, big);
      this.high = Number(big >> 32n);
      this.low = Number(big & 0xffffffffn);
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
