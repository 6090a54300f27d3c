/**
 * Parsers for flag values. Each throws commander's InvalidArgumentError, which commander turns
 * into one line naming the flag, and which the CLI maps to exit 2.
 */
import { InvalidArgumentError } from 'commander';
import { layoutProblem, type Layout } from '../snowflake/layout.js';

/** An http(s) base URL, without a trailing slash so routes can be appended. */
export function parseBaseUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('must be http:// or https://');
  return u.toString().replace(/\/+$/, '');
}

/** A non-negative integer written in plain decimal: "17", not "1e1", " 17" or "-0". */
export function parseNonNegativeInt(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}

/** A TCP port; 0 lets the system pick one. */
export function parsePort(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n > 65535) throw new InvalidArgumentError('must be a port, 0-65535');
  return n;
}

/** A positive integer, e.g. a page size. */
export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/** "41/10/12": timestamp, node and sequence bits. */
export function parseLayout(value: string): Layout {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{1,2})$/.exec(value);
  if (!m) throw new InvalidArgumentError('must be TIMESTAMP/NODE/SEQUENCE bits, like 41/10/12');
  const layout = { timestampBits: Number(m[1]), nodeBits: Number(m[2]), sequenceBits: Number(m[3]) };
  const problem = layoutProblem(layout);
  if (problem) throw new InvalidArgumentError(problem);
  return layout;
}

/** An RFC 3339 instant, to milliseconds since the Unix epoch. */
export function parseInstant(value: string): number {
  const ms = Date.parse(value);
  // Date.parse also takes "Jan 1 2024" and local times; an epoch must be unambiguous.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError('must be an RFC 3339 time like 2024-01-01T00:00:00Z');
  }
  return ms;
}

/** Quotes a value for a POSIX shell, for commands printed to be copied and pasted. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
