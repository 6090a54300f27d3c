// PostgreSQL units run concurrently, so audit ids (from a sequence) can commit out of order. A
// reader paging with `after` must never be shown a later id before an earlier one has landed, or
// it would skip that entry for good.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres.js';
import { freshDatabase } from './pg-instance.js';

const insert = `INSERT INTO audit (at, actor, action, detail) VALUES (0, 't', $1, '{}') RETURNING id`;

describe('PostgreSQL audit order', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('holds back an entry while an older transaction that wrote one is still open', async () => {
    const db = await freshDatabase();
    const store = await PostgresStore.open(db.url);
    const slow = new pg.Client({ connectionString: db.url });
    const fast = new pg.Client({ connectionString: db.url });
    await slow.connect();
    await fast.connect();
    cleanups.push(async () => {
      await slow.end();
      await fast.end();
      await store.close();
      await db.drop();
    });
    await slow.query('BEGIN');
    const early = Number((await slow.query<{ id: string }>(insert, ['early'])).rows[0]!.id);
    const late = Number((await fast.query<{ id: string }>(insert, ['late'])).rows[0]!.id);
    assert.ok(early < late);
    assert.deepEqual(await store.listAudit(0, 10), [], 'the later entry waits for the earlier transaction');
    await slow.query('COMMIT');
    assert.deepEqual(
      (await store.listAudit(0, 10)).map((e) => [e.id, e.action]),
      [
        [early, 'early'],
        [late, 'late'],
      ],
    );
  });
});
