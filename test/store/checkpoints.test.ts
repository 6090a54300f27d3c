// WAL checkpoints on a thread of their own (issue 8): SQLite's automatic checkpoint is off on the
// store's connection, the worker copies the WAL while units go on committing, and the WAL file
// stays bounded because each checkpoint ends with every frame copied.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from '../../src/registry/registry.js';
import { CHECKPOINT_EVERY_MS, Checkpointer } from '../../src/store/checkpoints.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { dynamic, p, pool } from '../registry/fixture.js';

async function churn(registry: Registry, cycles: number): Promise<void> {
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < cycles / 8; i++) {
        const { lease } = await registry.acquire({ principal: p(`w${w}`), policy: dynamic, pool: 'default' });
        await registry.release(lease.id, p(`w${w}`));
      }
    }),
  );
}

describe('WAL checkpoints', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-checkpoints-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every frame into the database, and the WAL starts over instead of growing', async () => {
    const file = path.join(dir, 'bounded.db');
    const store = new SqliteStore(file);
    const registry = new Registry({
      store,
      pools: [pool('default')],
      lease: { ttlMs: 60_000, maxClockSkewMs: 1000, maxPerPrincipal: 4 },
    });
    try {
      await churn(registry, 400);
      const first = await store.checkpoint();
      assert.ok(first && first.log > 0, 'the churn wrote frames');
      assert.equal(first.busy, 0);
      assert.equal(first.checkpointed, first.log, 'nothing left behind');
      const walBytes = statSync(`${file}-wal`).size;
      // Ten rounds of the same churn, with the worker's own ticks between: the WAL is reused.
      for (let i = 0; i < 10; i++) {
        await churn(registry, 400);
        await sleep(CHECKPOINT_EVERY_MS * 2);
      }
      // Without checkpoints the WAL would hold all eleven rounds; with them, what a few rounds wrote
      // between two ticks at most (a loaded machine delays ticks, hence the slack).
      const size = statSync(`${file}-wal`).size;
      assert.ok(size <= walBytes * 6, `the WAL grew from ${walBytes} to ${size} bytes`);
    } finally {
      await store.close();
    }
    // Closed: everything is in the database file, readable without its WAL.
    const db = new Database(file, { readonly: true });
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number }).n, 4400);
    db.close();
  });

  it('leaves SQLite no checkpoint of its own to run inside a commit', async () => {
    const store = new SqliteStore(path.join(dir, 'off.db'));
    try {
      const db = (store as unknown as { db: Database.Database }).db;
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    } finally {
      await store.close();
    }
  });
});

describe('the checkpoint worker failing', () => {
  it('tells the store, which turns SQLite’s own checkpoints back on', async () => {
    let told: unknown;
    const c = new Checkpointer(
      path.join(tmpdir(), 'snowgate-no-such-dir', 'x.db'),
      (fn) => fn(),
      (e) => (told = e),
    );
    for (let i = 0; i < 100 && told === undefined; i++) await sleep(20);
    assert.match(String(told), /directory does not exist|unable to open/);
    await assert.rejects(c.checkpoint(), /checkpoint worker is gone/);
    await c.close();
  });
});
