// SQLite durability off the event loop (issue 8): a commit is answered only after a sync of the
// WAL that began after it, and syncs asked for while one runs share the next.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from '../../src/registry/registry.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { Coalesced, WalSync } from '../../src/store/wal-sync.js';
import { dynamic, p, pool } from '../registry/fixture.js';

describe('WAL sync', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-wal-sync-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one operation at a time; callers during one share the next, each after its call', async () => {
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const c = new Coalesced(
      () =>
        new Promise<void>((ok) => {
          started.push(started.length);
          finish.push(ok);
        }),
    );
    const a = c.after();
    const b = c.after();
    const b2 = c.after();
    assert.equal(started.length, 1, 'b and b2 wait for the next, not the one already running');
    finish[0]!();
    await a;
    await new Promise((ok) => setImmediate(ok));
    assert.equal(started.length, 2, 'one more for both');
    finish[1]!();
    await Promise.all([b, b2]);
    const d = c.after();
    assert.equal(started.length, 3, 'idle: starts at once');
    finish[2]!();
    await d;
  });

  it('starts the next operation after a failed one', async () => {
    let n = 0;
    const c = new Coalesced(async () => {
      if (n++ === 0) throw new Error('EIO');
    });
    const a = c.after();
    const b = c.after();
    await assert.rejects(a, /EIO/);
    await b;
    assert.equal(n, 2);
  });

  it('reports a missing WAL, and syncs once the file exists', async () => {
    const wal = new WalSync(path.join(dir, 'later.db-wal'));
    await assert.rejects(wal.durable(), { code: 'ENOENT' });
    await (await open(path.join(dir, 'later.db-wal'), 'w')).close();
    await wal.durable();
    await wal.close();
  });

  it('answers a grant only after its WAL was synced', async () => {
    const probe = await open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: (this: unknown) => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    const events: string[] = [];
    proto.datasync = async function (this: unknown) {
      events.push('sync started');
      await new Promise((ok) => setTimeout(ok, 50));
      await real.call(this);
      events.push('sync done');
    };
    try {
      const store = new SqliteStore(path.join(dir, 'grants.db'));
      const registry = new Registry({
        store,
        pools: [pool('default', '0-63')],
        lease: { ttlMs: 60_000, maxClockSkewMs: 1000, maxPerPrincipal: 10 },
      });
      await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
      events.push('answered');
      assert.deepEqual(events.slice(-3), ['sync started', 'sync done', 'answered']);
      await store.close();
    } finally {
      proto.datasync = real;
    }
  });
});
