/**
 * The statements PostgreSQL units run by name in scripts (postgres-sql.ts), and a unit's opening:
 * the reads it says it starts with (UnitOpening), sent in one script with its BEGIN and the clock
 * read, and their results as the reads they answer.
 */
import type pg from 'pg';
import type { Principal } from '../registry/types.js';
import { NOW_MS, Scripted } from './postgres-sql.js';
import type { UnitOpening } from './port.js';
import type { LeaseRow } from './rows.js';

/** The writes and principal reads of every grant and release, run by name in scripts. */
export const INSERT_LEASE = new Scripted(
  `WITH lease AS (
     INSERT INTO leases (id, pool, node, generation, issuer, subject, instance, issued_at, expires_at, not_before,
       nats_public_key, ended_at, end_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13))
   INSERT INTO nodes (pool, node, generation, last_issuer, last_subject, holder) VALUES ($2, $3, $4, $5, $6, $1)
   ON CONFLICT (pool, node) DO UPDATE SET generation = excluded.generation,
     last_issuer = excluded.last_issuer, last_subject = excluded.last_subject, holder = excluded.holder`,
);
export const END_LEASE = new Scripted(
  `WITH ended AS (UPDATE leases SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL)
   UPDATE nodes SET last_end = GREATEST(COALESCE(last_end, $4), $4),
     holder = CASE WHEN holder = $3 THEN NULL ELSE holder END
   WHERE pool = $5 AND node = $6`,
);
export const SET_EXPIRY = new Scripted('UPDATE leases SET expires_at = $1 WHERE id = $2 AND ended_at IS NULL');
const LOCK_PRINCIPAL = new Scripted('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))');
const ACTIVE_OF = new Scripted(
  'SELECT * FROM leases WHERE issuer = $1 AND subject = $2 AND ended_at IS NULL FOR UPDATE',
);
const ACTIVE_OF_IN_POOL = new Scripted(
  'SELECT * FROM leases WHERE issuer = $1 AND subject = $2 AND ended_at IS NULL AND pool = $3 FOR UPDATE',
);
export const EXPIRED_IN = new Scripted(
  `SELECT * FROM leases WHERE pool = $1 AND ended_at IS NULL AND expires_at <= $2
   ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
);
/**
 * The unit's clock, kept for its own statements: a read in BEGIN's script that must compare with
 * `now` before the unit has it takes the very same instant.
 */
const UNIT_NOW_SETTING = 'snowgate.unit_now';
/** The clock read that begins every unit (unless the store has a fixed clock), run by name. */
export const UNIT_NOW = new Scripted(`SELECT set_config('${UNIT_NOW_SETTING}', (${NOW_MS})::text, true) AS now`);
const EXPIRED_AT_UNIT_NOW = new Scripted(
  `SELECT * FROM leases WHERE pool = $1 AND ended_at IS NULL
     AND expires_at <= current_setting('${UNIT_NOW_SETTING}')::bigint
   ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
);
export const NATS_KEY_USED = new Scripted('SELECT 1 FROM leases WHERE nats_public_key = $1 LIMIT 1');
const HAS_PINS = new Scripted(
  'SELECT EXISTS (SELECT 1 FROM mappings WHERE pool = $1 AND issuer = $2 AND subject = $3) AS pinned',
);

/**
 * A lease, locked. Run by name, so reads started together share a script (a sweep's, say); the
 * one a unit opens with goes with its BEGIN (UnitOpening).
 */
export const LEASE_FOR_UPDATE = new Scripted('SELECT * FROM leases WHERE id = $1 FOR UPDATE');

/**
 * The lock on a principal's grants, then its leases in a snapshot taken after it, and whether it
 * has pins in the pool (a grant asks next).
 */
export const principalReads = (p: Principal, pool?: string): string[] => [
  LOCK_PRINCIPAL.call([`${p.issuer}\n${p.subject}`]),
  pool === undefined ? ACTIVE_OF.call([p.issuer, p.subject]) : ACTIVE_OF_IN_POOL.call([p.issuer, p.subject, pool]),
  ...(pool === undefined ? [] : [HAS_PINS.call([pool, p.issuer, p.subject])]),
];

/**
 * What a unit's opening adds to its BEGIN: the reads it says it starts with, in the order it starts
 * them (a grant's, as Registry.acquire does). `now` is undefined when UNIT_NOW reads the clock in
 * the same script.
 */
export function openingStatements(opening: UnitOpening | undefined, now: number | undefined): string[] {
  if (!opening) return [];
  if ('lease' in opening) return [LEASE_FOR_UPDATE.call([opening.lease])];
  const g = opening.grant;
  return [
    ...(g.natsPublicKey !== undefined ? [NATS_KEY_USED.call([g.natsPublicKey])] : []),
    now === undefined ? EXPIRED_AT_UNIT_NOW.call([g.pool, g.expired]) : EXPIRED_IN.call([g.pool, now, g.expired]),
    ...principalReads(g.principal, g.pool),
  ];
}

/** The opening's results, as the reads they answer (each once). */
export interface OpeningAnswers {
  lease?: { id: string; row: LeaseRow | undefined };
  keyUsed?: { key: string; used: boolean };
  expired?: { pool: string; limit: number; rows: LeaseRow[] };
  held?: { principal: Principal; pool: string; rows: LeaseRow[]; pinned: boolean };
}

export function openingAnswers(opened?: { opening: UnitOpening; results: pg.QueryResult[] }): OpeningAnswers {
  if (!opened) return {};
  const { opening } = opened;
  const rs = [...opened.results];
  if ('lease' in opening) return { lease: { id: opening.lease, row: rs[0]!.rows[0] as LeaseRow | undefined } };
  const g = opening.grant;
  const keyUsed =
    g.natsPublicKey === undefined ? undefined : { key: g.natsPublicKey, used: rs.shift()!.rows.length > 0 };
  const [expired, , held, pins] = rs; // the lock's result is nothing
  return {
    ...(keyUsed ? { keyUsed } : {}),
    expired: { pool: g.pool, limit: g.expired, rows: expired!.rows as LeaseRow[] },
    held: {
      principal: g.principal,
      pool: g.pool,
      rows: held!.rows as LeaseRow[],
      pinned: (pins!.rows[0] as { pinned: boolean }).pinned,
    },
  };
}
