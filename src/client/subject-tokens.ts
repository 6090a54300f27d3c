/**
 * Reading a NATS subject's dot-separated tokens in place, without splitting or slicing it: the
 * verifier checks every message's node against its subject on the hot path.
 */

/** The positions of `{pool}` and `{node}` among the dot-separated tokens of a template. */
export function positions(template: string | null): { pool: number; node: number } {
  const tokens = template?.split('.') ?? [];
  return { pool: tokens.indexOf('{pool}'), node: tokens.indexOf('{node}') };
}

/**
 * Where the n-th dot-separated token of a subject starts, or -1 when it has fewer. Given where an
 * earlier token `k` starts (`from`), it counts on from there.
 */
export function tokenStart(subject: string, n: number, k = 0, from = 0): number {
  let start = from;
  for (let i = k; i < n; i++) {
    start = subject.indexOf('.', start) + 1;
    if (start === 0) return -1;
  }
  return start;
}

export function tokenEnd(subject: string, start: number): number {
  const end = subject.indexOf('.', start);
  return end < 0 ? subject.length : end;
}

/** Whether subject[start, end) is `value` in decimal, as String(value) writes it, without slicing. */
export function isDecimal(subject: string, start: number, end: number, value: number): boolean {
  const n = end - start;
  if (n <= 0 || n > 16 || (n > 1 && subject.charCodeAt(start) === 48)) return false;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = subject.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v === value;
}

/** Whether the token at `start` is exactly `name`. */
export function tokenIs(subject: string, start: number, name: string): boolean {
  const end = start + name.length;
  return subject.startsWith(name, start) && (end === subject.length || subject.charCodeAt(end) === 46);
}
