// DESIGN's uniqueness argument, simulated (test/registry/uniqueness-sim.ts): no duplicate over a
// million IDs and ten thousand lease events; with the floor or the fence switched off, the very
// run (a quarter of it) finds duplicates, so the check is one that can fail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.js';
import { simulate, type SimOptions } from './uniqueness-sim.js';

const RUN: SimOptions = {
  seed: 20240601,
  workers: 300,
  nodes: 256,
  ticks: 1200,
  floor: true,
  fencing: true,
  store: (clock) => new SqliteStore(':memory:', clock),
};

describe('uniqueness simulation', () => {
  it('mints no duplicate with the floor and the fence', async () => {
    const r = await simulate(RUN);
    assert.ok(r.ids >= 1_000_000, `${r.ids} IDs`);
    assert.ok(r.leaseEvents >= 10_000, `${r.leaseEvents} lease events`);
    assert.equal(r.duplicates, 0, JSON.stringify(r));
  });

  it('finds duplicates without the floor', async () => {
    const r = await simulate({ ...RUN, ticks: 300, floor: false });
    assert.ok(r.duplicates > 0, JSON.stringify(r));
  });

  it('finds duplicates without fencing', async () => {
    const r = await simulate({ ...RUN, ticks: 300, fencing: false });
    assert.ok(r.duplicates > 0, JSON.stringify(r));
  });
});
