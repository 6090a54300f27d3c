import type { Layout } from './layout.js';

export interface DecodedId {
  /** Milliseconds since the Unix epoch. */
  timestampMs: number;
  node: number;
  sequence: number;
}

/** Builds an ID from its fields. Throws RangeError when a field does not fit its bits. */
export function encodeId(l: Layout, epochMs: number, f: DecodedId): bigint {
  const ts = BigInt(f.timestampMs - epochMs);
  if (ts < 0n || ts >= 1n << BigInt(l.timestampBits)) throw new RangeError('timestamp outside the layout');
  if (!Number.isInteger(f.node) || f.node < 0 || f.node >= 2 ** l.nodeBits)
    throw new RangeError('node outside the layout');
  if (!Number.isInteger(f.sequence) || f.sequence < 0 || f.sequence >= 2 ** l.sequenceBits) {
    throw new RangeError('sequence outside the layout');
  }
  return (ts << BigInt(l.nodeBits + l.sequenceBits)) | (BigInt(f.node) << BigInt(l.sequenceBits)) | BigInt(f.sequence);
}

/** Splits an ID into its fields. Throws RangeError for a negative ID or one wider than the layout. */
export function decodeId(l: Layout, epochMs: number, id: bigint): DecodedId {
  const width = BigInt(l.timestampBits + l.nodeBits + l.sequenceBits);
  if (id < 0n || id >= 1n << width) throw new RangeError(`ID does not fit a ${width}-bit layout`);
  const seqMask = (1n << BigInt(l.sequenceBits)) - 1n;
  const nodeMask = (1n << BigInt(l.nodeBits)) - 1n;
  return {
    timestampMs: epochMs + Number(id >> BigInt(l.nodeBits + l.sequenceBits)),
    node: Number((id >> BigInt(l.sequenceBits)) & nodeMask),
    sequence: Number(id & seqMask),
  };
}

/** Parses a decimal ID string strictly: digits only, no sign, no exponent, no whitespace. */
export function parseIdString(s: string): bigint {
  if (!/^\d{1,20}$/.test(s)) throw new RangeError('an ID is a decimal string of up to 20 digits');
  return BigInt(s);
}
