/**
 * The audit feed on PostgreSQL: units append entries without any lock, and the feed's public ids
 * are given out afterwards, by whoever reads the feed, under one advisory lock.
 *
 * The feed is read oldest first with an `after` cursor (CONTRACT §6), so an id must never appear
 * below one a reader has already passed. Ids taken from a sequence when a unit inserts would break
 * that: units commit in any order, and a reader could pass id 8 while the unit holding id 7 has
 * not committed yet. Holding one global lock from the append to COMMIT made ids follow commit
 * order, but serialised every unit's COMMIT (and its WAL flush) across all replicas: the store's
 * throughput was one fsync at a time, whatever the number of replicas.
 *
 * Instead a unit inserts its entries with a NULL `id` (and `entry`, a row key from a sequence: the
 * order they were appended in). Before reading, `sealAudit` numbers unnumbered entries, oldest
 * `entry` first, from the highest id given so far, in one transaction that first takes
 * SEAL_LOCK. Why no reader can skip an entry:
 * - an entry is visible in the feed only once it has an id, and ids are given only by a seal;
 * - seals run one at a time (the lock is taken in its own statement, so the numbering statement's
 *   snapshot, taken after it, sees every earlier seal's commit) and each numbers from the highest
 *   id committed so far: a later seal only ever gives larger ids;
 * - a seal commits its ids at once, and a snapshot that sees a seal sees every earlier one (it
 *   committed before the later one took the lock);
 * so once a reader has seen id N, every entry still without an id, whenever its unit commits, gets
 * an id above N. A seal numbers only entries its snapshot sees committed; one whose unit is still
 * running is numbered by a later seal. No use of transaction ids or xmin is needed: the order
 * within the feed is the order seals saw units commit in (append order inside one seal), which is
 * what "oldest first" can mean for units that ran at the same time.
 *
 * Read-your-writes: a reader's seal (a blocking lock, so it never skips sealing for a concurrent
 * one with an older snapshot) sees every unit committed before the read began. It numbers at most
 * `limit` entries, so its cost is bounded when nobody read the feed for a while; when more were
 * waiting, the page comes back full and the reader pages on.
 */
import type pg from 'pg';
import type { NewAuditEntry } from './port.js';
import { Scripted } from './postgres-sql.js';

/** Serializes seals (never units): arbitrary but fixed. */
const SEAL_LOCK = 0x61756474; // "audt"

const AUDIT_ROW = new Scripted(
  'INSERT INTO audit (at, actor, action, pool, node, lease_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
);

/** The INSERTs a unit appends its entries with, in the script that commits it; no id yet. */
export function auditInsert(entries: readonly NewAuditEntry[]): string[] {
  return entries.map((e) =>
    AUDIT_ROW.call([e.at, e.actor, e.action, e.pool, e.node, e.leaseId, JSON.stringify(e.detail)]),
  );
}

/**
 * Gives ids to up to `limit` committed entries that have none, oldest first. One round trip: the
 * statements of a simple query each take a fresh snapshot, so the numbering sees the lock's effect.
 */
export async function sealAudit(db: pg.Pool, limit: number): Promise<void> {
  const n = Math.max(1, Math.min(1000, Math.trunc(limit)));
  await db.query(`BEGIN;
    SELECT pg_advisory_xact_lock(${SEAL_LOCK});
    WITH base AS (SELECT COALESCE(MAX(id), 0) AS id FROM audit),
      due AS (
        SELECT entry, row_number() OVER (ORDER BY entry) AS n
        FROM (SELECT entry FROM audit WHERE id IS NULL ORDER BY entry LIMIT ${n}) waiting
      )
    UPDATE audit SET id = base.id + due.n FROM base, due WHERE audit.entry = due.entry;
    COMMIT`);
}
