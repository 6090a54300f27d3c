/** An unbounded async queue: push on one side, `for await` on the other. Ends with end(). */
export class Channel<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private waiter: { resolve(r: IteratorResult<T>): void; reject(e: Error): void } | undefined;
  private ended = false;
  private failure: Error | undefined;

  /** `onReturn` runs when the consumer stops early (`break` out of `for await`). */
  constructor(private readonly onReturn?: () => void) {}

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Ends the iteration once the queued items are taken; with an error, the next take rejects with it. */
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) this.settle(w);
  }

  get pending(): number {
    return this.items.length - this.head;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      // Drop taken items now and then, so a long-lived queue does not keep them all.
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return new Promise((resolve, reject) => this.settle({ resolve, reject }));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.items = [];
    this.head = 0;
    this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settle(w: { resolve(r: IteratorResult<T>): void; reject(e: Error): void }): void {
    const err = this.failure;
    this.failure = undefined;
    if (err) w.reject(err);
    else w.resolve({ value: undefined, done: true });
  }
}
