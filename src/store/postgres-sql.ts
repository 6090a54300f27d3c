/**
 * How a unit talks to PostgreSQL cheaply. On this kind of machine a round trip (a write and a read
 * syscall on each side, and a context switch) costs more than the statement it carries, so:
 * - statements that always follow each other go in one simple query (`script`): PostgreSQL runs
 *   them in order, each with a fresh snapshot (so a statement after a lock sees what the lock's
 *   previous holder committed), and stops at the first error;
 * - parameterised statements are prepared once per connection (`prepared`): PostgreSQL parses and
 *   plans them once instead of on every call.
 * A script cannot carry parameters, so its values are written in as literals (`lit`, `inline`),
 * escaped by the driver's own function; the statements scripts run on every grant and release are
 * prepared once per connection and run by name (`Scripted`).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

/** PostgreSQL's clock in epoch milliseconds: the store's clock, the same for every replica. */
export const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

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

/**
 * A statement scripts run by name. A script's statements are parsed, analysed and planned anew on
 * every run (that was a third of PostgreSQL's CPU on the grant path); these are PREPAREd once on
 * each connection, before its first unit (`prepareScripted`), and a script runs them as
 * `EXECUTE name(literals)`, which PostgreSQL answers from the plan it keeps. Declared once, at
 * module level, so every connection prepares the same set.
 */
export class Scripted {
  readonly name: string;

  constructor(readonly text: string) {
    this.name = `sgx_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    if (!SCRIPTED.some((s) => s.name === this.name)) SCRIPTED.push(this);
  }

  /** The EXECUTE a script carries, its values written in (`lit`). */
  call(values: readonly unknown[]): string {
    return values.length === 0 ? `EXECUTE ${this.name}` : `EXECUTE ${this.name}(${values.map(lit).join(', ')})`;
  }
}

const SCRIPTED: Scripted[] = [];
/** Connections that hold every Scripted statement. */
const preparedOn = new WeakSet<pg.PoolClient>();

/**
 * PREPAREs the Scripted statements on a connection that does not hold them yet: one round trip in
 * its life. A prepared statement outlives a rollback, so a connection on which this fails may hold
 * some of them and must not be used again (the caller destroys it).
 */
export async function prepareScripted(c: pg.PoolClient): Promise<void> {
  if (preparedOn.has(c)) return;
  await c.query(SCRIPTED.map((s) => `PREPARE ${s.name} AS ${s.text}`).join(';\n'));
  preparedOn.add(c);
}
