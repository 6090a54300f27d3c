/**
 * The last `size` distinct IDs seen, for duplicate detection in constant memory: a ring buffer
 * that evicts the oldest as a Set takes the newest. Ten million messages cost what `size` does.
 */
export class IdWindow {
  private readonly ring: Array<string | undefined>;
  private readonly seen = new Set<string>();
  private next = 0;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('the duplicate window holds at least one ID');
    this.ring = new Array<string | undefined>(size);
  }

  /** Records `id`; true when it was already in the window. */
  add(id: string): boolean {
    // One lookup, not has() then add(): the Set grows only when the ID is new.
    const before = this.seen.size;
    this.seen.add(id);
    if (this.seen.size === before) return true;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.seen.delete(evicted);
    this.ring[this.next] = id;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    return false;
  }

  get count(): number {
    return this.seen.size;
  }
}
