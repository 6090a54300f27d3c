const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_PATTERN = '^\\d+(ms|s|m|h|d)$';

/** "250ms", "30s", "10m", "1h", "1d" to milliseconds; undefined for anything else. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]!]!;
}
