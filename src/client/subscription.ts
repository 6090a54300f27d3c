/**
 * A subscription that outlives the connection it started on: the NATS handle attaches it to each
 * new connection when credentials rotate, and it hands its messages to one callback or one
 * iterator whatever connection they came by. During the overlap of a rotation a message can
 * arrive on both connections; the copy whose Snowflake-Id was already delivered is dropped.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Channel } from './channel.js';

export const ID_HEADER = 'Snowflake-Id';

export interface SubscribeOptions {
  /** A queue group: the server gives each message to one member. */
  queue?: string;
  /** Called for each message; without it, iterate the subscription. */
  callback?: (err: Error | null, msg: Msg) => void;
}

interface Overlap {
  /** Snowflake-Ids delivered during the overlap, so a second copy is dropped. */
  seen: Set<string>;
  /** The new connection. */
  next: NatsConnection;
  /** Ordered mode: the new connection's messages, held until the old one has drained. */
  held: Msg[] | undefined;
}

export class RotatingSubscription implements AsyncIterable<Msg> {
  private readonly attached = new Map<NatsConnection, Subscription>();
  private readonly channel: Channel<Msg> | undefined;
  private overlap: Overlap | undefined;
  private finished = false;
  private resolveClosed!: (v: void | Error) => void;
  /** Resolves when the subscription ends: void, or the error (a permission denial) that ended it. */
  readonly closed: Promise<void | Error> = new Promise((ok) => (this.resolveClosed = ok));
  /** Messages handed to the callback or the iterator. */
  processed = 0;
  /** Second copies dropped during rotations. */
  duplicatesDropped = 0;

  constructor(
    readonly subject: string,
    private readonly opts: SubscribeOptions,
    private readonly onEnd: (s: RotatingSubscription) => void,
  ) {
    this.channel = opts.callback ? undefined : new Channel<Msg>(() => this.unsubscribe());
  }

  get isClosed(): boolean {
    return this.finished;
  }

  /** Subscribes on `nc`; messages from it flow into this subscription. */
  attach(nc: NatsConnection): void {
    if (this.finished) return;
    const sub = nc.subscribe(this.subject, {
      ...(this.opts.queue !== undefined ? { queue: this.opts.queue } : {}),
      callback: (err, msg) => (err ? this.failed(nc, err) : this.receive(nc, msg)),
    });
    this.attached.set(nc, sub);
  }

  /** The old connection is about to drain: from now on, a message already seen is a duplicate. */
  beginOverlap(next: NatsConnection, ordered: boolean): void {
    this.overlap = { seen: new Set(), next, held: ordered ? [] : undefined };
  }

  /** The old connection has drained and the new one flushed: no second copy can come any more. */
  endOverlap(old: NatsConnection): void {
    this.attached.delete(old);
    const o = this.overlap;
    this.overlap = undefined;
    for (const m of o?.held ?? []) {
      const id = m.headers?.get(ID_HEADER);
      if (id && o!.seen.has(id)) this.duplicatesDropped++;
      else this.deliver(m);
    }
  }

  /** A rotation to `next` was given up before it was used: the old connection keeps delivering. */
  abandon(next: NatsConnection): void {
    this.attached.get(next)?.unsubscribe();
    this.attached.delete(next);
    if (this.overlap?.next === next) this.overlap = undefined;
  }

  /** A connection ended without a drain (the server closed it): its subscription is gone. */
  forget(nc: NatsConnection): void {
    this.attached.delete(nc);
  }

  unsubscribe(): void {
    for (const sub of this.attached.values()) sub.unsubscribe();
    this.finish();
  }

  /** Lets the messages already received through, then ends. */
  async drain(): Promise<void> {
    await Promise.all([...this.attached.values()].map((s) => s.drain().catch(() => undefined)));
    this.finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<Msg> {
    if (!this.channel) throw new TypeError('this subscription has a callback; it cannot also be iterated');
    return this.channel;
  }

  private receive(nc: NatsConnection, msg: Msg): void {
    const o = this.overlap;
    if (o) {
      if (o.held && nc === o.next) {
        o.held.push(msg);
        return;
      }
      const id = msg.headers?.get(ID_HEADER);
      if (id) {
        if (o.seen.has(id)) {
          this.duplicatesDropped++;
          return;
        }
        o.seen.add(id);
      }
    }
    this.deliver(msg);
  }

  private deliver(msg: Msg): void {
    if (this.finished) return;
    this.processed++;
    if (this.opts.callback) this.opts.callback(null, msg);
    else this.channel!.push(msg);
  }

  /** A subscription error (a permission denial) ends this one, unless it came from a connection on its way out. */
  private failed(nc: NatsConnection, err: Error): void {
    this.attached.delete(nc);
    if (this.overlap && nc !== this.overlap.next) return; // the old connection's, while it drains
    this.opts.callback?.(err, undefined as unknown as Msg);
    this.finish(err);
  }

  private finish(err?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.attached.clear();
    this.channel?.end(err);
    this.resolveClosed(err);
    this.onEnd(this);
  }
}
