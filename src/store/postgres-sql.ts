/**
 * How a unit talks to PostgreSQL cheaply. On this kind of machine a round trip (a write and a read
 * syscall on each side, and a context switch) costs more than the statement it carries, so:
 * - statements that always follow each other go in one simple query (`script`): PostgreSQL runs
 *   them in order, each with a fresh snapshot (so a statement after a lock sees what the lock's
 *   previous holder committed), and stops at the first error;
 * - parameterised statements are prepared once per connection (`prepared`): PostgreSQL parses and
 *   plans them once instead of on every call.
 * A script cannot carry parameters, so its values are written in as literals (`lit`, `inline`),
 * escaped by the driver's own function.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

const names = new Map<string, string>();

/** The statement, named after its text: one text is one prepared statement on every connection. */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `sg_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return { name, text, values };
}

/** A value written into a script: strings escaped, numbers only when they are finite. */
export function lit(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return pg.escapeLiteral(v);
  throw new Error(`no SQL literal for a value of type ${typeof v}`);
}

/** A parameterised statement with its values written in, for a script. */
export function inline(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, i: string) => lit(values[Number(i) - 1]));
}

/** Runs statements in one round trip; the result of each, in order. */
export async function script(c: pg.PoolClient, statements: string[]): Promise<pg.QueryResult[]> {
  const r = (await c.query(statements.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(r) ? r : [r];
}
