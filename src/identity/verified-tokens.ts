/**
 * Tokens already verified, keyed by the whole token, so a workload that presents the same token
 * for its acquire, renewals and release pays for one signature check, not one per request: the
 * RS256 verification was the largest single cost of a grant.
 *
 * An entry lives until the token's `exp` (plus the skew jose allows) or `maxAgeMs`, whichever
 * comes first. The age bound is what a key removed from the issuer's JWKS costs: tokens it
 * signed keep working from here that much longer than an uncached check would allow. The
 * entry count is bounded, oldest dropped first, so the map cannot grow with the number of
 * distinct tokens (each of which needed a valid signature to get in).
 */
export class VerifiedTokens<T> {
  readonly #entries = new Map<string, { value: T; untilMs: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get(token: string, nowMs: number): T | undefined {
    const e = this.#entries.get(token);
    if (e === undefined) return undefined;
    if (nowMs < e.untilMs) return e.value;
    this.#entries.delete(token);
    return undefined;
  }

  /** `expiresAtMs`: the last instant the token itself is still accepted. */
  set(token: string, value: T, nowMs: number, expiresAtMs: number): void {
    const untilMs = Math.min(expiresAtMs, nowMs + this.maxAgeMs);
    if (untilMs <= nowMs || this.maxEntries === 0) return;
    this.#entries.delete(token);
    this.#entries.set(token, { value, untilMs });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  get size(): number {
    return this.#entries.size;
  }
}
