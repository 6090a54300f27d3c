// SQLite group commit (issue 8): units that arrive together share one transaction and one COMMIT,
// each is answered only after that COMMIT, and one that fails leaves its neighbours alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeConflict } from '../../src/errors.js';
import { GroupCommit, type Connection } from '../../src/store/group-commit.js';
import { Mutex } from '../../src/store/mutex.js';
import { dynamic, fixture, p, pool } from '../registry/fixture.js';

/** A connection that records what it was asked to do, and can be told to fail a COMMIT. */
function recording(failCommit = false) {
  const log: string[] = [];
  let open = false;
  const conn: Connection = {
    begin: () => {
      log.push('begin');
      open = true;
    },
    savepoint: () => void log.push('savepoint'),
    release: () => void log.push('release'),
    rollbackToSavepoint: () => void log.push('rollback to'),
    commit: () => {
      log.push('commit');
      if (failCommit) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      open = false;
    },
    rollback: () => {
      log.push('rollback');
      open = false;
    },
    inTransaction: () => open,
  };
  const mutex = new Mutex();
  const commits = new GroupCommit(
    conn,
    (fn) => mutex.run(fn),
    (e) => e,
    () => log.push('committed'),
  );
  return { log, commits };
}

describe('group commit', () => {
  it('commits units that arrive together once, answering each only after the commit', async () => {
    const { log, commits } = recording();
    const answered: number[] = [];
    const units = Array.from({ length: 20 }, (_, i) =>
      commits
        .run(async () => {
          log.push(`unit ${i}`);
          return i;
        })
        .then((v) => {
          assert.ok(log.includes('committed'), 'answered after the commit');
          answered.push(v);
        }),
    );
    await Promise.all(units);
    assert.equal(log.filter((l) => l === 'begin').length, 1);
    assert.equal(log.filter((l) => l === 'commit').length, 1);
    assert.deepEqual(
      answered,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('rolls a failing unit back to its savepoint and commits its neighbours', async () => {
    const { log, commits } = recording();
    const results = await Promise.allSettled([
      commits.run(async () => 'a'),
      commits.run(async () => {
        throw new Error('this one fails');
      }),
      commits.run(async () => 'c'),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(log.filter((l) => l === 'rollback to').length, 1);
    assert.equal(log.filter((l) => l === 'commit').length, 1);
  });

  it('answers every unit of a batch whose COMMIT failed with the fault, none with success', async () => {
    const { commits } = recording(true);
    const results = await Promise.allSettled([commits.run(async () => 'a'), commits.run(async () => 'b')]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String(r.status === 'rejected' && r.reason), /disk I\/O error/);
    }
  });

  it('with a durable step: answers a batch once it is durable, running the next batch meanwhile', async () => {
    const log: string[] = [];
    let open = false;
    const pending: { resolve(): void; reject(e: unknown): void }[] = [];
    const conn: Connection = {
      begin: () => void ((open = true), log.push('begin')),
      savepoint: () => undefined,
      release: () => undefined,
      rollbackToSavepoint: () => undefined,
      commit: () => void ((open = false), log.push('commit')),
      rollback: () => void (open = false),
      inTransaction: () => open,
      durable: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    };
    const mutex = new Mutex();
    const commits = new GroupCommit(
      conn,
      (fn) => mutex.run(fn),
      (e) => new Error(`fault: ${String(e)}`),
      () => {},
    );
    const answered: string[] = [];
    const first = commits.run(async () => 'first').then((v) => void answered.push(v));
    await new Promise((ok) => setImmediate(ok));
    await new Promise((ok) => setImmediate(ok));
    const second = commits.run(async () => 'second').then((v) => void answered.push(v));
    const failing = commits.run(async () => {
      throw new Error('its own refusal');
    });
    await new Promise((ok) => setImmediate(ok));
    await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(log, ['begin', 'commit', 'begin', 'commit'], 'the second batch ran before the first was durable');
    assert.deepEqual(answered, [], 'nothing answered before it is durable');
    pending[0]!.resolve();
    await first;
    assert.deepEqual(answered, ['first']);
    pending[1]!.reject(new Error('EIO'));
    await assert.rejects(second, /fault: Error: EIO/, 'a failed sync is the fault, not a success');
    await assert.rejects(failing, /its own refusal/, 'a unit refused on its own keeps its error');
  });

  it('on the SQLite store: concurrent grants, renewals and releases, one refused, the rest committed', async () => {
    const { registry, store } = fixture([pool('default', '0-63')], { maxPerPrincipal: 100 });
    const first = await registry.acquire({ principal: p('a'), policy: dynamic, pool: 'default' });
    const held = await registry.acquire({ principal: p('b'), policy: dynamic, pool: 'default' });
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) =>
        registry.acquire({ principal: p(`c${i}`), policy: dynamic, pool: 'default' }),
      ),
      registry.acquire({ principal: p('x'), policy: dynamic, pool: 'default', node: held.lease.node }),
      registry.renew(first.lease.id, p('a')),
      registry.release(held.lease.id, p('b')),
    ]);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 1);
    assert.ok((refused[0] as PromiseRejectedResult).reason instanceof NodeConflict);
    const active = await store.listLeases({ state: 'active' });
    assert.equal(active.length, 11, 'ten grants and the renewed lease');
    assert.ok(!active.some((l) => l.id === held.lease.id), 'the release committed');
    await store.close();
  });
});
