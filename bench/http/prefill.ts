/**
 * Puts a pool at a given occupancy before `serve` starts: `count` active leases on nodes
 * 0..count-1, held by filler principals, written straight into the SQLite file in one transaction
 * (through the registry it would take minutes for millions, and that is not what is measured).
 */
import Database from 'better-sqlite3';

export function prefill(file: string, pool: string, count: number, now: number, poolSize: number): void {
  if (count === 0) return;
  const db = new Database(file);
  try {
    const columns = new Set(
      (db.prepare("SELECT name FROM pragma_table_info('nodes')").all() as { name: string }[]).map((c) => c.name),
    );
    const series = 'WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < @count)';
    // Indexes built once after the load, not maintained row by row: millions of rows in seconds.
    const indexes = db
      .prepare<[], { name: string; sql: string }>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('leases', 'nodes')",
      )
      .all();
    db.transaction(() => {
      for (const i of indexes) db.exec(`DROP INDEX ${i.name}`);
      db.prepare(
        `${series} INSERT INTO leases (id, pool, node, generation, issuer, subject, instance, issued_at, expires_at,
           not_before, nats_public_key, ended_at, end_reason)
         SELECT 'fill-' || x, @pool, x, 1, 'bench', 'filler-' || (x % 4096), NULL, @now, @until, @now - 2000,
           NULL, NULL, NULL FROM n`,
      ).run({ count, pool, now, until: now + 7_200_000 });
      const holder = columns.has('holder');
      db.prepare(
        `${series} INSERT INTO nodes (pool, node, generation, last_end, last_issuer, last_subject${holder ? ', holder' : ''})
         SELECT @pool, x, 1, NULL, 'bench', 'filler-' || (x % 4096)${holder ? ", 'fill-' || x" : ''} FROM n`,
      ).run({ count, pool });
      if (columns.has('holder')) {
        // As the store records it (rows.ts rangesKey): nodes below `count` have rows.
        db.prepare('INSERT INTO pool_cursor (pool, next_node, ranges) VALUES (?, ?, ?)').run(
          pool,
          count,
          `0-${poolSize - 1}`,
        );
      }
      for (const i of indexes) db.exec(i.sql);
    }).immediate();
  } finally {
    db.close();
  }
}
