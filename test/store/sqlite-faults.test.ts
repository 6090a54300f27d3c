// SQLite faults (issue 7, finding 1): a locked file and a full disk are 503 `unavailable` with
// Retry-After, never a 500; nothing committed is lost; /readyz (ping) says so until it is over.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Unavailable } from '../../src/errors.js';
import { Registry } from '../../src/registry/registry.js';
import type { Lease } from '../../src/registry/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { dynamic, p, pool } from '../registry/fixture.js';

const lease = { ttlMs: 60_000, maxClockSkewMs: 1000, maxPerPrincipal: 100_000 };
const pools = [pool('default', '0-1023')];

describe('SQLite faults', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-sqlite-faults-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers a full database with 503, keeps every committed grant, and heals when there is room', async () => {
    const file = path.join(dir, 'full.db');
    // One grant first, so the pool's first chunk of node rows exists before the cap is set.
    const probe = new SqliteStore(file);
    await new Registry({ store: probe, pools, lease }).acquire({
      principal: p('first'),
      policy: dynamic,
      pool: 'default',
    });
    await probe.close();
    const pagesNow = Number(new Database(file).pragma('page_count', { simple: true }));
    const store = new SqliteStore(file, undefined, { maxPageCount: pagesNow + 12 });
    const registry = new Registry({ store, pools, lease });
    const granted: Lease[] = [];
    let fault: unknown;
    for (let i = 0; i < 5000 && fault === undefined; i++) {
      try {
        granted.push((await registry.acquire({ principal: p(`s${i}`), policy: dynamic, pool: 'default' })).lease);
      } catch (e) {
        fault = e;
      }
    }
    assert.ok(fault instanceof Unavailable, `a full database is unavailable, not ${String(fault)}`);
    assert.equal(fault.status, 503);
    assert.equal(fault.retryAfterSeconds, 1);
    assert.match(fault.message, /SQLITE_FULL/);
    assert.ok(granted.length > 10, `grants committed before the disk filled: ${granted.length}`);
    await assert.rejects(store.ping(), /SQLITE_FULL|max_page_count/);
    // Reads go on, and so does a renewal that grows nothing.
    assert.equal((await store.listLeases({ state: 'active' })).length, granted.length + 1);

    // Room again (the operator freed disk; here the cap is lifted): ready and granting, no restart.
    store['db'].pragma('max_page_count = 1000000');
    await store.ping();
    await registry.acquire({ principal: p('after'), policy: dynamic, pool: 'default' });
    await store.close();

    const reopened = new SqliteStore(file);
    const active = await reopened.listLeases({ state: 'active' });
    const ids = new Set(active.map((l) => l.id));
    for (const g of granted) assert.ok(ids.has(g.id), `committed grant ${g.id} survives`);
    assert.equal(new Set(active.map((l) => l.node)).size, active.length, 'no node held twice');
    await reopened.close();
  });

  it('answers a file locked by another process with 503 and heals when the lock goes', async () => {
    const file = path.join(dir, 'busy.db');
    const store = new SqliteStore(file, undefined, { busyTimeoutMs: 20 });
    const registry = new Registry({ store, pools, lease });
    const first = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
    const intruder = new Database(file);
    intruder.exec('BEGIN IMMEDIATE');
    const err = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default' }).catch((e) => e);
    assert.ok(err instanceof Unavailable, String(err));
    assert.match(err.message, /SQLITE_BUSY/);
    await assert.rejects(registry.renew(first.lease.id, p('a')), Unavailable);
    await assert.rejects(store.ping(), /SQLITE_BUSY/);
    intruder.exec('ROLLBACK');
    intruder.close();
    await store.ping();
    await registry.renew(first.lease.id, p('a'));
    await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default' });
    await store.close();
  });
});
