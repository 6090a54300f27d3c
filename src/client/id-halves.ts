/**
 * A decimal ID read straight into the two 32-bit halves of its value, without BigInt and without
 * a string slice: the verifier does this for every message. The digits are taken in two runs
 * (the first up to 15, then up to 5 more), each exact in a double, and split with two divisions
 * in all rather than one per digit.
 */

const TWO_32 = 2 ** 32;
/** 10^15 < 2^53: up to 15 digits sum exactly in a double. */
const HEAD_DIGITS = 15;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000];

/** Where parseHalves writes: `high * 2^32 + low` is the ID. */
export interface Halves {
  high: number;
  low: number;
}

/**
 * Parses `id` as parseIdString does (1 to 20 ASCII digits, nothing else) into `out`; false where
 * it throws. `high` may exceed 32 bits for a 20-digit value of 2^64 or more: every layout fits in
 * 63 bits, so the caller's width check refuses it.
 */
export function parseHalves(id: string, out: Halves): boolean {
  const n = id.length;
  if (n === 0 || n > 20) return false;
  const headEnd = n < HEAD_DIGITS ? n : HEAD_DIGITS;
  let head = 0;
  for (let i = 0; i < headEnd; i++) {
    const d = id.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    head = head * 10 + d;
  }
  let tail = 0;
  for (let i = headEnd; i < n; i++) {
    const d = id.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    tail = tail * 10 + d;
  }
  // id = head * 10^k + tail, head < 2^50 and tail < 10^5: each product below stays under 2^53.
  const scale = POW10[n - headEnd]!;
  const headHigh = Math.floor(head / TWO_32);
  const low = (head - headHigh * TWO_32) * scale + tail;
  const carry = Math.floor(low / TWO_32);
  out.high = headHigh * scale + carry;
  out.low = low - carry * TWO_32;
  return true;
}
