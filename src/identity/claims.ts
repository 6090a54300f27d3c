import type { ClaimValue } from '../config/types.js';
import { claimAt } from './pointer.js';

export type BoundClaims = Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>;

/**
 * Checks an issuer's bound claims against a verified token's claims. Every bound claim must
 * match; a list of expectations matches when any does; a claim holding an array matches when
 * any element does. Returns the first mismatch, naming the claim but not the expected value
 * (the policy is the operator's business, not the caller's), or undefined when all match.
 */
export function boundClaimsMismatch(claims: Readonly<Record<string, unknown>>, bound: BoundClaims): string | undefined {
  for (const [key, expected] of Object.entries(bound)) {
    const actual = claimAt(claims, key);
    if (actual === undefined || actual === null) return `bound claim "${key}" is missing`;
    const values: readonly unknown[] = Array.isArray(actual) ? actual : [actual];
    const wanted: readonly ClaimValue[] = isList(expected) ? expected : [expected];
    if (!values.some((v) => wanted.some((w) => matches(w, v)))) return `bound claim "${key}" does not match`;
  }
  return undefined;
}

function isList(v: ClaimValue | readonly ClaimValue[]): v is readonly ClaimValue[] {
  return Array.isArray(v);
}

/** Exact for numbers and booleans: "1" is not 1, so a YAML quirk never widens a policy. */
function matches(expected: ClaimValue, actual: unknown): boolean {
  if (typeof expected !== 'string') return actual === expected;
  return typeof actual === 'string' && globMatch(expected, actual);
}

/**
 * `*` matches any run of characters, including none; every other character is literal.
 * A linear scan that backtracks only to the last `*` instead of a RegExp: patterns with
 * several stars against a 16 KiB claim cannot blow up, and no character needs escaping.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
