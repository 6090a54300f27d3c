// SQLite migration 4 on a store written before it: the audit keeps its entries and their ids, the
// next entry follows on, and the sweeper still finds what expired.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.js';
import { SqliteStore } from '../../src/store/sqlite.js';

describe('SQLite migration 4', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-migrate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps audit ids, numbers on from them, and drops what no statement needs', async () => {
    const file = path.join(dir, 'v3.db');
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.version);
    }
    const audit = db.prepare('INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)');
    for (let i = 1; i <= 5; i++) audit.run(i, 'admin:t', `test.${i}`, '{}');
    db.exec(
      `INSERT INTO leases (id, pool, node, generation, issuer, subject, issued_at, expires_at, not_before)
       VALUES ('l-1', 'default', 3, 1, 'corp', 's', 0, 1000, 0)`,
    );
    db.close();

    const store = new SqliteStore(file);
    try {
      const entries = await store.listAudit(0, 100);
      assert.deepEqual(
        entries.map((e) => [e.id, e.action]),
        [1, 2, 3, 4, 5].map((i) => [i, `test.${i}`]),
      );
      await store.transaction((tx) => tx.audit({ at: 6, actor: 'admin:t', action: 'test.6', detail: {} }));
      assert.deepEqual(
        (await store.listAudit(5, 100)).map((e) => e.id),
        [6],
      );
      assert.deepEqual(
        (await store.expiredUnended(2000, 10)).map((l) => l.id),
        ['l-1'],
      );
    } finally {
      await store.close();
    }
    const after4 = new Database(file, { readonly: true });
    try {
      const names = after4.prepare('SELECT name FROM sqlite_schema').pluck().all() as string[];
      assert.ok(!names.includes('leases_unended_expiry'));
      assert.ok(!names.includes('audit_v4'));
      const sequenced = after4.prepare("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'audit'").pluck().get();
      assert.equal(sequenced, 0);
    } finally {
      after4.close();
    }
  });
});
