// Issue 8: a grant never reads a whole pool. SQLite's query plans for every statement on the
// grant, renewal and release paths are index searches (no SCAN, no sort of more than a principal's
// own pins), whatever the pool's ranges.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { prepareAllocation, prepareStatements } from '../../src/store/sqlite-statements.js';
import { SqliteStore } from '../../src/store/sqlite.js';

/** Statements that may read more than a few rows: admin listings, counts for /v1/pools, the sweeper's batch. */
const NOT_ON_THE_HOT_PATH = new Set(['allPins', 'pinsInPool', 'countLeased', 'countPinnedLeased', 'fillNodes']);
/** Steps through its own recursive CTE (one row a pool), each step an index search. */
const WALKS_ITS_CTE = new Set(['unendedPools']);
/** Sorts only the principal's own pins. */
const SORTS_PINS = new Set(['soonestPin']);

function plan(db: Database.Database, source: string): string[] {
  const named = [...source.matchAll(/@(\w+)/g)].map((m) => m[1]!);
  const args = named.length
    ? [Object.fromEntries(named.map((n) => [n, null]))]
    : Array<null>((source.match(/\?/g) ?? []).length).fill(null);
  return db
    .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${source}`)
    .all(...args)
    .map((r) => r.detail);
}

describe('SQLite allocation plans', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-plan-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const ranges of [
    [[0, 1023]],
    [[0, 4_194_303]],
    [
      [0, 99],
      [200, 299],
      [5000, 5000],
    ],
  ] as [number, number][][]) {
    it(`uses indexes only, for nodes ${ranges.map((r) => r.join('-')).join(',')}`, async () => {
      const file = path.join(dir, `plan-${ranges.length}-${ranges[0]![1]}.db`);
      await new SqliteStore(file).close();
      const db = new Database(file);
      try {
        const statements = { ...prepareStatements(db), ...prepareAllocation(db, ranges) };
        for (const [name, st] of Object.entries(statements)) {
          if (NOT_ON_THE_HOT_PATH.has(name)) continue;
          // A statement prepared per LIMIT (sqlite-statements.ts `limited`): the plan of one.
          const prepared = typeof st === 'function' ? (st as (limit: number) => unknown)(16) : st;
          const steps = plan(db, (prepared as { source: string }).source);
          for (const step of steps) {
            if (!(WALKS_ITS_CTE.has(name) && step === 'SCAN pools'))
              assert.doesNotMatch(step, /^SCAN /, `${name} scans: ${steps.join(' | ')}`);
            if (!SORTS_PINS.has(name)) assert.doesNotMatch(step, /TEMP B-TREE/, `${name} sorts: ${steps.join(' | ')}`);
          }
          if (name === 'coldest') assert.match(steps.join(), /nodes_coldest/);
          if (name === 'previous') assert.match(steps.join(), /nodes_previous/);
        }
      } finally {
        db.close();
      }
    });
  }
});
