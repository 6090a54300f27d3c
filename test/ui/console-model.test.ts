// The console's logic that needs no browser: the grid's states, and the audit log read newest first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../../ui/src/types.js';
import { auditPage, newestId, type ReadAudit } from '../../ui/src/audit-pages.js';
import { FREE, gridColumns, gridModel, LEASED, nodeAt, PINNED, WAITING } from '../../ui/src/grid-model.js';

const NOW = Date.parse('2025-01-01T00:00:00Z');
const past = new Date(NOW - 1000).toISOString();
const future = new Date(NOW + 1000).toISOString();

describe('console: grid model', () => {
  it('colours leased over pinned, and a lease before its floor as waiting', () => {
    const m = gridModel(
      4,
      [
        { node: 1, notBefore: past },
        { node: 2, notBefore: future },
        { node: 3, notBefore: past },
        { node: 99, notBefore: past },
      ],
      [{ node: 3 }, { node: 4 }, { node: -1 }],
      NOW,
    );
    assert.deepEqual([...m.states.slice(0, 6)], [FREE, LEASED, WAITING, LEASED, PINNED, FREE]);
    assert.equal(m.states.length, 16);
    assert.deepEqual(m.counts, [12, 2, 1, 1]);
    assert.ok(m.pinAt.has(3) && m.leaseAt.has(3), 'a pinned, leased node keeps both for its details');
    assert.ok(!m.leaseAt.has(99), 'outside the layout: ignored');
  });

  it('lays 2^bits nodes out square or twice as wide, and finds the node under a point', () => {
    assert.equal(gridColumns(10), 32);
    assert.equal(gridColumns(16), 256);
    assert.equal(gridColumns(5), 8);
    assert.equal(nodeAt(0, 0, 10, 8, 32), 0);
    assert.equal(nodeAt(79, 9, 10, 8, 32), 7);
    assert.equal(nodeAt(10, 10, 10, 8, 32), 9);
    assert.equal(nodeAt(80, 0, 10, 8, 32), undefined, 'right of the last column');
    assert.equal(nodeAt(0, 40, 10, 8, 32), undefined, 'below the last row');
    assert.equal(nodeAt(-1, 0, 10, 8, 32), undefined);
  });
});

function log(ids: number[]): { read: ReadAudit; calls: () => number } {
  const entries: AuditEntry[] = ids.map((id) => ({
    id,
    at: new Date(NOW + id).toISOString(),
    actor: id % 3 === 0 ? 'admin:bootstrap' : 'principal:dev:svc',
    action: id % 2 === 0 ? 'lease.granted' : 'mapping.created',
    detail: {},
  }));
  let calls = 0;
  return {
    // As the API: oldest first, ids above `after`, at most `limit`.
    read: async (after, limit) => {
      calls++;
      return entries.filter((e) => e.id > after).slice(0, limit);
    },
    calls: () => calls,
  };
}

describe('console: the audit log newest first', () => {
  it('finds the newest id in a few dozen reads, gaps and all', async () => {
    assert.equal(await newestId(log([]).read), 0);
    assert.equal(await newestId(log([1]).read), 1);
    const ids = Array.from({ length: 5000 }, (_, i) => i + 1).filter((i) => i % 7 !== 0);
    const l = log([...ids, 123_457]);
    assert.equal(await newestId(l.read), 123_457);
    assert.ok(l.calls() < 40, `${l.calls()} reads`);
  });

  it('pages back through every entry once, newest first', async () => {
    const ids = Array.from({ length: 2600 }, (_, i) => i + 1).filter((i) => i % 11 !== 0);
    const { read } = log(ids);
    let below: number | undefined = await newestId(read);
    const seen: number[] = [];
    while (below !== undefined) {
      const page = await auditPage(read, below, 50, {});
      assert.ok(page.entries.length <= 50);
      seen.push(...page.entries.map((e) => e.id));
      below = page.older;
    }
    assert.deepEqual(seen, [...ids].reverse());
  });

  it('filters by action prefix and actor, still newest first', async () => {
    const { read } = log(Array.from({ length: 300 }, (_, i) => i + 1));
    const page = await auditPage(read, 300, 10, { action: 'lease.', actor: 'bootstrap' });
    assert.deepEqual(
      page.entries.map((e) => e.id),
      [300, 294, 288, 282, 276, 270, 264, 258, 252, 246],
    );
    assert.equal(page.older, 245);
    const none = await auditPage(read, 300, 10, { action: 'keys.' });
    assert.deepEqual(none, { entries: [], older: undefined });
  });
});
