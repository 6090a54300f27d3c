/**
 * A leased node as a service holds it (CONTRACT §7): a fenced ID generator, NATS credentials
 * that follow the lease, one NATS handle across every rotation, and stamped publishing. Built on
 * the one lease keeper; `snowgate lease` uses it too.
 */
import type { JetStreamPublishOptions } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type Payload } from '@nats-io/transport-node';
import { SnowflakeGenerator } from '../snowflake/generator.js';
import { formatCreds, type NatsCredentials } from './creds.js';
import { NatsNotConfiguredError } from './errors.js';
import { LeaseKeeper, releaseLease, type Held, type Lost } from './lease-keeper.js';
import { exposeMetrics, LatencyHistogram, type ClientMetrics } from './metrics.js';
import { NatsHandle } from './nats-handle.js';
import { Backoff } from './runtime.js';
import { MessageSigner, SIG_HEADER } from './signature.js';
import { MSG_ID_HEADER, StampHeaders } from './stamp.js';
import { ID_HEADER } from './subscription.js';
import type { LayoutJson, LeaseJson } from './wire.js';
import {
  calloutCredentials,
  credentialsOf,
  keeperOptions,
  withDefaults,
  type Grant,
  type NodeLeaseEventMap,
  type NodeLeaseOptions,
  type PublishOptions,
  type StampedAck,
} from './node-lease-options.js';

export type {
  NatsOptions,
  NodeLeaseOptions,
  Grant,
  PublishOptions,
  StampedAck,
  NodeLeaseEventMap,
} from './node-lease-options.js';

const te = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** One publish in this many has its latency measured: reading the clock twice costs a publish's worth. */
const PUBLISH_SAMPLE = 16;

function sendOn(nats: NatsHandle, subject: string, data: Uint8Array, stamp: MsgHdrs | string): void {
  if (typeof stamp === 'string') nats.publishStamped(subject, data, stamp);
  else nats.publish(subject, data, { headers: stamp });
}

export class NodeLease extends EventTarget {
  private keeper!: LeaseKeeper;
  private generator!: SnowflakeGenerator;
  private handle: NatsHandle | undefined;
  private signer: { seed: string; signer: MessageSigner } | undefined;
  private closing: Promise<void> | undefined;
  private readonly ended: Promise<Error | undefined>;
  private endWith!: (e: Error | undefined) => void;
  private unexpose: (() => void) | undefined;
  private publishes = 0;
  /** The newest grant's connection credentials: a rotation to older ones is given up. */
  private newest: NatsCredentials | undefined;
  private readonly counts = { fenceEvents: 0, renewals: 0, renewFailures: 0, leasesLost: 0, retired: [0, 0, 0] };
  private readonly renewLatency = new LatencyHistogram();
  private readonly publishLatency = new LatencyHistogram();

  private constructor(private readonly o: ReturnType<typeof withDefaults>) {
    super();
    this.ended = new Promise((ok) => (this.endWith = ok));
  }

  /** Acquires a lease (failing fast with the registry's error) and keeps it until close(). */
  static async acquire(options: NodeLeaseOptions): Promise<NodeLease> {
    const o = withDefaults(options);
    const node = new NodeLease(o);
    const keeper = await LeaseKeeper.start(keeperOptions(o), {
      onGrant: (h, kind) => node.onGrant(h, kind),
      onLost: (l) => node.onLost(l),
      onFenced: (h) => node.onFenced(h),
      onRetry: (what, error, waitMs) => {
        if (what === 'renew') node.counts.renewFailures++;
        node.emit('retrying', { what, error, waitMs });
      },
    });
    node.keeper = keeper;
    void keeper.done.then((err) => {
      if (err) void node.shutDown(err);
    });
    if (o.metrics)
      node.unexpose = await exposeMetrics(o.metrics.registry, keeper.held.body.lease.pool, () => node.metrics());
    return node;
  }

  /**
   * One grant, not kept: no renewal, no release, no NATS connection (`snowgate lease --once`).
   * `onGrant` runs as for acquire(); the lease is given back only if it throws.
   */
  static async grantOnce(options: NodeLeaseOptions): Promise<Grant> {
    const o = withDefaults(options);
    let grant: Grant | undefined;
    await LeaseKeeper.grantOnce(keeperOptions(o), async (h) => {
      grant = { kind: 'acquired', response: h.body, credentials: credentialsOf(h) };
      await o.onGrant?.(grant);
    });
    return grant!;
  }

  /** The lease as the registry last granted or renewed it. */
  get lease(): LeaseJson {
    return this.keeper.held.body.lease;
  }

  get layout(): LayoutJson {
    return this.keeper.held.body.layout;
  }

  /** The NATS user credentials of the lease (for a creds file, or another client). */
  get credentials(): (NatsCredentials & { creds: string }) | undefined {
    const c = credentialsOf(this.keeper.held);
    return c && { ...c, creds: formatCreds(c.jwt, c.seed) };
  }

  /** The NATS handle: one for the life of this lease, across every credential rotation. */
  get nats(): NatsHandle {
    if (!this.handle) throw new NatsNotConfiguredError('this NodeLease was acquired without `nats`');
    return this.handle;
  }

  /** The next ID. Throws (a GeneratorError) rather than mint one that could collide. */
  nextId(): bigint {
    return this.generator.next();
  }

  nextIdString(): string {
    return this.generator.nextString();
  }

  /**
   * Publishes with a fresh ID as `Snowflake-Id` and `Nats-Msg-Id` (JetStream de-duplication).
   * Returns the ID; with `jetstream`, the ack and the ID.
   */
  publish(subject: string, payload?: Payload, opts?: PublishOptions & { jetstream?: false }): Promise<string>;
  publish(
    subject: string,
    payload: Payload | undefined,
    opts: PublishOptions & { jetstream: true | Partial<JetStreamPublishOptions> },
  ): Promise<StampedAck>;
  publish(subject: string, payload?: Payload, opts?: PublishOptions): Promise<string | StampedAck> {
    try {
      if (opts !== undefined && (opts.headers || opts.jetstream || opts.signed)) {
        return this.publishWith(subject, payload, opts);
      }
      // The common case, kept apart and lean: it runs once a message, as plain publish does.
      const nats = this.nats;
      const id = this.generator.nextString();
      this.send(nats, subject, typeof payload === 'string' ? te.encode(payload) : (payload ?? EMPTY), id);
      return Promise.resolve(id);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** With more headers, a signature or through JetStream. Throws where publish() rejects. */
  private publishWith(
    subject: string,
    payload: Payload | undefined,
    opts: PublishOptions,
  ): Promise<string | StampedAck> {
    const nats = this.nats;
    const id = this.generator.nextString();
    const data = typeof payload === 'string' ? te.encode(payload) : (payload ?? EMPTY);
    const sig = opts.signed ? this.signerFor().sign(id, subject, data) : undefined;
    let h: MsgHdrs;
    if (opts.headers || opts.jetstream) {
      h = natsHeaders();
      for (const [k, vs] of opts.headers ?? []) for (const v of vs) h.append(k, v);
      h.set(ID_HEADER, id);
      h.set(MSG_ID_HEADER, id);
      if (sig !== undefined) h.set(SIG_HEADER, sig);
    } else {
      h = new StampHeaders(id, sig); // encoded without nats.js's header machinery
    }
    if (opts.jetstream) {
      const jsOpts = opts.jetstream === true ? {} : opts.jetstream;
      const started = this.o.runtime.monotonic();
      return nats
        .jetstream()
        .publish(subject, data, { ...jsOpts, headers: h })
        .then((ack) => {
          this.publishLatency.observe((this.o.runtime.monotonic() - started) / 1000);
          return Object.assign(ack, { id });
        });
    }
    this.send(nats, subject, data, h);
    return Promise.resolve(id);
  }

  /**
   * A core NATS publish with these headers, or stamped with the ID `stamp` alone (one frame:
   * stamp-frame.ts); one in PUBLISH_SAMPLE has its latency measured.
   */
  private send(nats: NatsHandle, subject: string, data: Uint8Array, stamp: MsgHdrs | string): void {
    if (++this.publishes % PUBLISH_SAMPLE !== 0) return sendOn(nats, subject, data, stamp);
    const started = this.o.runtime.monotonic();
    sendOn(nats, subject, data, stamp);
    this.publishLatency.observe((this.o.runtime.monotonic() - started) / 1000);
  }

  metrics(): ClientMetrics {
    const s = this.generator.stats;
    const [minted, seqWaits, stepWaits] = this.counts.retired;
    return {
      idsMinted: minted! + s.minted,
      sequenceWaits: seqWaits! + s.sequenceWaits,
      clockStepWaits: stepWaits! + s.clockStepWaits,
      fenceEvents: this.counts.fenceEvents,
      renewals: this.counts.renewals,
      renewFailures: this.counts.renewFailures,
      leasesLost: this.counts.leasesLost,
      rotations: this.handle?.rotations ?? 0,
      duplicatesDropped: this.handle?.duplicatesDropped ?? 0,
      renewLatency: this.renewLatency.snapshot(),
      publishLatency: this.publishLatency.snapshot(),
    };
  }

  /** Resolves when this NodeLease has closed: undefined after close(), else why it gave up. */
  closed(): Promise<Error | undefined> {
    return this.ended;
  }

  /** Stops minting, drains NATS, releases the lease. */
  close(): Promise<void> {
    return this.shutDown(undefined);
  }

  /** A typed addEventListener; returns the function that removes the listener. */
  on<K extends keyof NodeLeaseEventMap>(type: K, listener: (ev: NodeLeaseEventMap[K]) => void): () => void {
    const l = listener as (ev: Event) => void;
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  private emit<K extends keyof NodeLeaseEventMap>(type: K, detail: NodeLeaseEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private signerFor(): MessageSigner {
    const seed = this.keeper.held.seed;
    if (!seed) throw new NatsNotConfiguredError('signed publishing needs NATS credentials from the registry');
    if (this.signer?.seed !== seed) this.signer = { seed, signer: new MessageSigner(seed) };
    return this.signer.signer;
  }

  private async onGrant(h: Held, kind: 'acquired' | 'renewed'): Promise<void> {
    const creds = credentialsOf(h);
    if (this.o.nats && !creds)
      throw new NatsNotConfiguredError(
        'the registry issued no NATS credentials (no `nats` section in its configuration)',
      );
    await this.o.onGrant?.({ kind, response: h.body, credentials: creds });
    const first = !this.generator;
    if (kind === 'renewed') {
      this.counts.renewals++;
      this.renewLatency.observe(h.roundTripMs / 1000);
      this.generator.fence(h.fenceAt);
    } else {
      if (!first) this.retire(this.generator);
      this.generator = new SnowflakeGenerator({
        layout: h.body.layout,
        node: h.body.lease.node,
        notBefore: h.body.lease.notBefore,
        fenceAt: h.fenceAt,
        maxBackwardStepMs: h.body.maxClockSkewMs,
        clock: this.o.clock,
        monotonic: this.o.runtime.monotonic,
      });
    }
    if (this.o.nats && creds) {
      const dial =
        this.o.nats.auth === 'callout' ? await calloutCredentials(h, this.o.nats, this.o.token, creds) : creds;
      this.newest = dial;
      if (first) this.handle = await NatsHandle.open(this.o.nats, dial);
      else this.rotateSoon(dial);
    }
    if (!first) this.emit(kind, { lease: h.body.lease });
  }

  private retire(g: SnowflakeGenerator): void {
    g.fence();
    const r = this.counts.retired;
    r[0]! += g.stats.minted;
    r[1]! += g.stats.sequenceWaits;
    r[2]! += g.stats.clockStepWaits;
  }

  private onLost(l: Lost): void {
    this.generator.fence();
    this.counts.leasesLost++;
    this.emit('lost', l);
  }

  private onFenced(h: Held): void {
    this.counts.fenceEvents++;
    this.emit('fenced', { leaseId: h.body.lease.id });
  }

  /**
   * Rotates the NATS connection to fresh credentials in the background. A failure (a server
   * that is down) is retried while these are still the newest: the old connection works until
   * its JWT expires.
   */
  private rotateSoon(creds: NatsCredentials): void {
    const handle = this.handle!;
    const backoff = new Backoff(this.o.backoff.initialMs, this.o.backoff.maxMs, this.o.runtime.random);
    const attempt = async (): Promise<void> => {
      for (;;) {
        if (this.closing || this.newest !== creds) return;
        try {
          await handle.rotate(creds);
          this.emit('rotated', { rotations: handle.rotations });
          return;
        } catch (e) {
          this.emit('error', { error: e as Error });
          await this.o.runtime.sleep(backoff.delay());
        }
      }
    };
    void attempt();
  }

  private shutDown(reason: Error | undefined): Promise<void> {
    this.closing ??= (async () => {
      this.generator.fence();
      await this.keeper.stop(false);
      await this.handle?.close();
      let error = reason;
      if (!reason) {
        // Drained first: releasing revokes the NATS user, which would cut messages still in flight.
        await releaseLease(
          { registry: this.o.registry, token: this.o.token, runtime: this.o.runtime },
          this.lease.id,
        ).catch((e: unknown) => (error = e as Error));
      }
      this.unexpose?.();
      this.endWith(error);
      if (error && reason) this.emit('error', { error });
      if (error && !reason) throw error;
    })();
    return this.closing;
  }
}
