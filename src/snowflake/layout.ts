/** Bit widths of a Snowflake ID. The sign bit stays 0, so the three fields use at most 63 bits. */
export interface Layout {
  timestampBits: number;
  nodeBits: number;
  sequenceBits: number;
}

/** A layout as the API shows it: with the pool's epoch, an RFC 3339 string. */
export interface LayoutWithEpoch extends Layout {
  epoch: string;
}

/** Inclusive node ranges, sorted and disjoint. */
export type NodeRanges = ReadonlyArray<readonly [number, number]>;

export const DEFAULT_LAYOUT: Layout = { timestampBits: 41, nodeBits: 10, sequenceBits: 12 };

/** Why a layout is impossible, or undefined when it is fine. */
export function layoutProblem(l: Layout): string | undefined {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 0) return `${k} must be a non-negative integer`;
  }
  if (l.timestampBits < 1) return 'timestampBits must be at least 1';
  if (l.nodeBits < 1) return 'nodeBits must be at least 1';
  const total = l.timestampBits + l.nodeBits + l.sequenceBits;
  if (total > 63) return `timestampBits + nodeBits + sequenceBits = ${total}, more than 63`;
  return undefined;
}

export function nodeCount(l: Layout): number {
  return 2 ** l.nodeBits;
}

/**
 * Parses "0-1023" or "0-9,20,30-39" into sorted inclusive ranges inside 0..2^nodeBits-1.
 * Throws an Error naming the problem: bad syntax, out of range, reversed or overlapping.
 */
export function parseNodeRanges(spec: string, l: Layout): NodeRanges {
  const max = nodeCount(l) - 1;
  const ranges: [number, number][] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`"${part.trim()}" is not a node or a range like 0-1023`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`range ${lo}-${hi} is reversed`);
    if (hi > max) throw new Error(`node ${hi} is outside 0-${max} (nodeBits ${l.nodeBits})`);
    ranges.push([lo, hi]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur[0] <= prev[1]) throw new Error(`ranges ${prev[0]}-${prev[1]} and ${cur[0]}-${cur[1]} overlap`);
  }
  return ranges;
}

export function rangesSize(ranges: NodeRanges): number {
  return ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
}

export function inRanges(ranges: NodeRanges, node: number): boolean {
  return ranges.some(([lo, hi]) => node >= lo && node <= hi);
}

export function* nodesOf(ranges: NodeRanges): Generator<number> {
  for (const [lo, hi] of ranges) for (let n = lo; n <= hi; n++) yield n;
}
