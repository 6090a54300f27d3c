// The PostgreSQL audit feed without a write-time lock (src/store/postgres-audit.ts): units that
// commit out of order never make a reader paging with `after` skip an entry, and entries written
// before the feed was numbered at read time keep their ids.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from '../../src/store/migrations/postgres.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { freshDatabase } from './pg-instance.js';

/** A promise and the function that settles it: holds a unit open until the test lets it go. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((ok) => (open = ok));
  return { wait, open };
}

describe('PostgreSQL audit feed', () => {
  const drops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const d of drops.reverse()) await d();
  });

  it('never lets a reader skip an entry whose unit commits after a later one', async () => {
    const db = await freshDatabase();
    const [a, b] = [await PostgresStore.open(db.url), await PostgresStore.open(db.url)];
    drops.push(async () => {
      await a.close();
      await b.close();
      await db.drop();
    });
    const audit = (action: string) => ({ at: 1, actor: 't', action, detail: {} });
    const held = gate();
    const appended = gate();
    // The slow unit appends first, so it holds the smaller row key, and commits last.
    const slow = a.transaction(async (tx) => {
      await tx.audit(audit('slow'));
      appended.open();
      await held.wait;
    });
    await appended.wait;
    await b.transaction((tx) => tx.audit(audit('fast')));
    const first = await b.listAudit(0, 100);
    assert.deepEqual(
      first.map((e) => e.action),
      ['fast'],
      'the running unit is not in the feed',
    );
    held.open();
    await slow;
    const next = await a.listAudit(first.at(-1)!.id, 100);
    assert.deepEqual(
      next.map((e) => e.action),
      ['slow'],
      'it comes after what the reader already passed',
    );
    assert.deepEqual(
      (await b.listAudit(0, 100)).map((e) => e.action),
      ['fast', 'slow'],
    );
  });

  it('numbers at most a page of entries per read, and the rest on the pages after', async () => {
    const db = await freshDatabase();
    const store = await PostgresStore.open(db.url);
    drops.push(async () => {
      await store.close();
      await db.drop();
    });
    await store.transaction(async (tx) => {
      for (let i = 0; i < 5; i++) await tx.audit({ at: i, actor: 't', action: `a${i}`, detail: {} });
    });
    const page = await store.listAudit(0, 2);
    assert.deepEqual(
      page.map((e) => e.action),
      ['a0', 'a1'],
    );
    const rest = await store.listAudit(page[1]!.id, 10);
    assert.deepEqual(
      rest.map((e) => e.action),
      ['a2', 'a3', 'a4'],
    );
    assert.deepEqual(
      rest.map((e) => e.id),
      [page[1]!.id + 1, page[1]!.id + 2, page[1]!.id + 3],
    );
  });

  it('keeps the ids of entries written before the migration that numbers them at read time', async () => {
    const db = await freshDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    // The schema as it was before migration 4, with entries in it.
    await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version < 4)) {
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations VALUES ($1, 0)', [m.version]);
    }
    for (const action of ['old1', 'old2', 'old3'])
      await c.query(`INSERT INTO audit (at, actor, action, detail) VALUES (1, 't', $1, '{}')`, [action]);
    await c.query(`DELETE FROM audit WHERE action = 'old2'`);
    await c.end();
    const store = await PostgresStore.open(db.url);
    drops.push(async () => {
      await store.close();
      await db.drop();
    });
    await store.transaction((tx) => tx.audit({ at: 2, actor: 't', action: 'new', detail: {} }));
    const feed = await store.listAudit(0, 100);
    assert.deepEqual(
      feed.map((e) => [e.id, e.action]),
      [
        [1, 'old1'],
        [3, 'old3'],
        [4, 'new'],
      ],
    );
  });
});
