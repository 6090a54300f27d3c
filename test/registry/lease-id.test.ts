// Lease ids (issue 8): UUIDv7, ordered by the grant's millisecond so the stores append them to
// their primary-key indexes, with the random bits that keep them unguessable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newLeaseId } from '../../src/registry/lease-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('lease ids', () => {
  it('are UUIDv7 carrying the millisecond they were made at', () => {
    const at = Date.parse('2026-12-02T18:30:00.123Z');
    const id = newLeaseId(at);
    assert.match(id, UUID_V7);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
  });

  it('sort by time across milliseconds, and never repeat within one', () => {
    const at = Date.now();
    const ids = Array.from({ length: 10_000 }, (_, i) => newLeaseId(at + (i >> 5)));
    assert.equal(new Set(ids).size, ids.length);
    const prefixes = ids.map((id) => id.slice(0, 13));
    assert.deepEqual([...prefixes].sort(), prefixes);
  });
});
