/**
 * Store faults: which database errors mean "the store cannot be used right now" (answered 503
 * `unavailable` with Retry-After, never a 500 or a crash), and which mean "this unit lost a race
 * and was rolled back" (safe to run again). Everything else is a bug and stays what it is.
 */
import { Unavailable } from '../errors.js';

/** Seconds a client is told to wait after a store fault: reconnecting takes about that. */
export const STORE_RETRY_AFTER_SECONDS = 1;

/** The store cannot serve this request now; nothing the request asked for was committed, or it may have been (`unknownOutcome`). */
export class StoreUnavailable extends Unavailable {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.retryAfterSeconds = STORE_RETRY_AFTER_SECONDS;
  }
}

const NODE_NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * PostgreSQL cannot be reached or is going away: the socket died, the server is shutting down or
 * starting, out of connections, out of disk. SQLSTATE classes 08 (connection), 53 (resources),
 * 57P01-03 (shutdown, crash, starting), 58 (system), and pg's own messages for a dead socket.
 */
export function isPgConnectionFault(e: unknown): boolean {
  const code = codeOf(e);
  if (code !== undefined) {
    if (NODE_NET_CODES.has(code)) return true;
    if (/^(08|53|58)/.test(code) || /^57P0[1-3]$/.test(code)) return true;
  }
  const msg = e instanceof Error ? e.message : '';
  return /Connection terminated|connection ended|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|not queryable/i.test(
    msg,
  );
}

/**
 * A statement this connection prepared no longer fits the schema: another replica's migration
 * changed a table under it (a `SELECT *` gained a column). The connection must go; a fresh one
 * prepares again against the new schema.
 */
export function isPgStalePlan(e: unknown): boolean {
  return codeOf(e) === '0A000' && e instanceof Error && /cached plan must not change result type/.test(e.message);
}

/** PostgreSQL rolled the unit back because a concurrent one won: serialization failure, deadlock, a unique claim taken. */
export function isPgConflict(e: unknown): boolean {
  const code = codeOf(e);
  return code === '40001' || code === '40P01' || code === '23505';
}

/** SQLite cannot write now: the file is locked by another process, the disk or the size limit is full, or I/O failed. */
export function isSqliteFault(e: unknown): boolean {
  const code = codeOf(e);
  return code !== undefined && /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|NOMEM|PROTOCOL|NOLFS)/.test(code);
}

/** What an operator reads on /readyz and in the log. */
export function describeFault(e: unknown): string {
  const code = codeOf(e);
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}
