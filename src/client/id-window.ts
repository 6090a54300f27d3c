/**
 * The last `size` distinct IDs seen, for duplicate detection in constant memory. An ID is kept as
 * the two 32-bit halves of its 64-bit value, in typed arrays allocated once: a ring in arrival
 * order (the oldest is evicted when a new ID comes to a full window) and an open-addressing table
 * of the same halves side by side, probed linearly, so a probe reads one cache line, not a table
 * and then a ring. A Set of strings cost ~40 % of a check: hashing a fresh string per message,
 * and 100,000 live strings (each holding its header text) for the GC to trace. Here nothing is
 * allocated per ID, so ten million messages cost what `size` does.
 */

/** The largest window, 16.7 million IDs: its table (8 bytes a slot, at most half full) then takes 256 MiB. */
export const MAX_WINDOW = 2 ** 24;

/**
 * A slot holds `high + OCCUPIED` and `low`: every ID of a layout fits in 63 bits, so its high
 * half is below 2^31 and the stored one never 0, which marks an empty slot.
 */
const OCCUPIED = 2 ** 31;

/**
 * Where an ID's probe starts, before masking: the murmur3 finalizer over both halves. IDs of one
 * stream differ mostly in their low bits (sequence, then timestamp), which a plain mask would
 * pack into one run of neighbouring slots; mixing spreads them, so probes stay short.
 */
export function slotHash(high: number, low: number): number {
  let h = Math.imul(high, 0x9e3779b1) ^ low;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class IdWindow {
  /** The IDs' halves in arrival order. */
  private readonly ringHigh: Uint32Array;
  private readonly ringLow: Uint32Array;
  /** Slot i is [2i] = high + OCCUPIED (0: empty), [2i + 1] = low; at most half in use. */
  private readonly table: Uint32Array;
  private readonly mask: number;
  /** The ring position the next new ID takes (and, once the ring is full, the oldest ID's). */
  private next = 0;
  private filled = 0;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('the duplicate window holds at least one ID');
    if (size > MAX_WINDOW) throw new RangeError(`the duplicate window holds at most ${MAX_WINDOW} IDs`);
    this.ringHigh = new Uint32Array(size);
    this.ringLow = new Uint32Array(size);
    // A power of two at least twice the size: a load of at most 1/2 keeps linear probes short.
    const slots = 2 ** Math.ceil(Math.log2(size * 2));
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
  }

  /**
   * Records the ID whose 64-bit value is `high * 2^32 + low`, each an unsigned 32-bit integer
   * and `high` below 2^31 (a 63-bit ID); true when it was already in the window.
   */
  add(high: number, low: number): boolean {
    const { table, mask } = this;
    const key = high + OCCUPIED;
    let i = slotHash(high, low) & mask;
    for (let k = table[2 * i]!; k !== 0; k = table[2 * i]!) {
      if (k === key && table[2 * i + 1] === low) return true;
      i = (i + 1) & mask;
    }
    const pos = this.next;
    if (this.filled === this.size) {
      this.evict(this.ringHigh[pos]!, this.ringLow[pos]!);
      // Evicting may have moved an entry into a hole before `i` on this probe path: look again.
      i = slotHash(high, low) & mask;
      while (table[2 * i] !== 0) i = (i + 1) & mask;
    } else {
      this.filled++;
    }
    table[2 * i] = key;
    table[2 * i + 1] = low;
    this.ringHigh[pos] = high;
    this.ringLow[pos] = low;
    this.next = pos + 1 === this.size ? 0 : pos + 1;
    return false;
  }

  /** Distinct IDs held now: at most `size`. */
  get count(): number {
    return this.filled;
  }

  /** The bytes the window holds: fixed at construction, whatever goes through it. */
  get bytes(): number {
    return this.ringHigh.byteLength + this.ringLow.byteLength + this.table.byteLength;
  }

  /**
   * Removes an ID held in the table by backward shift (no tombstones, which would lengthen every
   * probe as the window turns over): each later entry of its cluster moves into the hole when
   * its own probe path passes the hole.
   */
  private evict(high: number, low: number): void {
    const { table, mask } = this;
    const key = high + OCCUPIED;
    let hole = slotHash(high, low) & mask;
    while (table[2 * hole] !== key || table[2 * hole + 1] !== low) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask, k = table[2 * j]!; k !== 0; j = (j + 1) & mask, k = table[2 * j]!) {
      const l = table[2 * j + 1]!;
      const home = slotHash(k - OCCUPIED, l) & mask;
      // The hole lies on the path from `home` to `j` (cyclically): the entry may move into it.
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table[2 * hole] = k;
        table[2 * hole + 1] = l;
        hole = j;
      }
    }
    table[2 * hole] = 0;
  }
}
