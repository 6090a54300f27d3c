import type { Layout } from './layout.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export interface DecodedId {
  /** Milliseconds since the Unix epoch. */
  timestampMs: number;
  node: number;
  sequence: number;
}

/**
 * Builds an ID from its fields. Throws RangeError when a field does not fit its bits, or is not
 * a safe integer: a JS number past 2^53 has already lost digits, so the ID would be wrong.
 */
export function encodeId(l: Layout, epochMs: number, f: DecodedId): bigint {
  if (!Number.isSafeInteger(f.timestampMs) || !Number.isSafeInteger(epochMs)) {
    throw new RangeError('timestamp is not a safe integer');
  }
  const ts = BigInt(f.timestampMs) - BigInt(epochMs);
  if (ts < 0n || ts >= 1n << BigInt(l.timestampBits)) throw new RangeError('timestamp outside the layout');
  if (!Number.isSafeInteger(f.node) || f.node < 0 || f.node >= 2 ** l.nodeBits)
    throw new RangeError('node outside the layout');
  if (!Number.isSafeInteger(f.sequence) || f.sequence < 0 || f.sequence >= 2 ** l.sequenceBits) {
    throw new RangeError('sequence outside the layout');
  }
  return (ts << BigInt(l.nodeBits + l.sequenceBits)) | (BigInt(f.node) << BigInt(l.sequenceBits)) | BigInt(f.sequence);
}

/**
 * Splits an ID into its fields. Throws RangeError for a negative ID, one wider than the layout, or
 * one with a field a JS number cannot hold exactly (possible only in layouts with more than 53
 * bits for a field): a rounded field would name the wrong instant or message.
 */
export function decodeId(l: Layout, epochMs: number, id: bigint): DecodedId {
  const width = BigInt(l.timestampBits + l.nodeBits + l.sequenceBits);
  if (id < 0n || id >= 1n << width) throw new RangeError(`ID does not fit a ${width}-bit layout`);
  const fields = {
    timestampMs: BigInt(epochMs) + (id >> BigInt(l.nodeBits + l.sequenceBits)),
    node: (id >> BigInt(l.sequenceBits)) & ((1n << BigInt(l.nodeBits)) - 1n),
    sequence: id & ((1n << BigInt(l.sequenceBits)) - 1n),
  };
  for (const [name, v] of Object.entries(fields)) {
    if (v > MAX_SAFE) throw new RangeError(`the ID's ${name} is beyond what a JS number holds exactly`);
  }
  return { timestampMs: Number(fields.timestampMs), node: Number(fields.node), sequence: Number(fields.sequence) };
}

/** Parses a decimal ID string strictly: digits only, no sign, no exponent, no whitespace. */
export function parseIdString(s: string): bigint {
  if (!/^\d{1,20}$/.test(s)) throw new RangeError('an ID is a decimal string of up to 20 digits');
  return BigInt(s);
}
