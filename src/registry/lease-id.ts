/**
 * Lease ids: UUIDv7 (RFC 9562), 48 bits of the grant's millisecond and 74 random bits. Ids that
 * grow with time are appended to the right edge of the stores' primary-key indexes, so a batch of
 * grants touches one index page, not one random page each (in-process SQLite cycles: 4,600 ->
 * 5,200/s, WAL frames per cycle 6.5 -> 5.6). The random bits keep ids unguessable, and nothing
 * trusts an id's time: the lease's own fields say when it was issued.
 */
import { randomFillSync } from 'node:crypto';

// Random bytes drawn a few KiB at a time: one call into the CSPRNG per id cost a grant more than
// all the rest of its id (as node:crypto's randomUUID also pools its entropy).
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

export function newLeaseId(nowMs: number): string {
  if (used + 10 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const b = Buffer.alloc(16);
  b.writeUIntBE(Math.max(0, Math.floor(nowMs)) % 2 ** 48, 0, 6);
  pool.copy(b, 6, used, used + 10);
  used += 10;
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
