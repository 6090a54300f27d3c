/**
 * One NATS handle for the life of a NodeLease, across every credential rotation. nats-server 2.9
 * cuts a connection at its JWT's `exp` and has no in-band re-authentication, so each rotation is
 * a new connection, made before the old one is broken: connect with the new credentials,
 * re-create every subscription there, flush (the server has registered them), switch publishing,
 * then drain (never close) the old connection. Skipping the flush, or closing instead of
 * draining, loses messages; a plain reconnect at expiry loses several per rotation.
 */
import { jetstream, type JetStreamClient, type JetStreamOptions } from '@nats-io/jetstream';
import {
  connect,
  type Authenticator,
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  type Payload,
  type PublishOptions,
  type RequestOptions,
  type Status,
} from '@nats-io/transport-node';
import { Channel } from './channel.js';
import type { NatsCredentials } from './creds.js';
import { ClosedError } from './errors.js';
import { nativeJwtAuthenticator } from './native-auth.js';
import { publishStamped } from './stamp-frame.js';
import { RotatingSubscription, type SubscribeOptions } from './subscription.js';

export interface NatsHandleOptions {
  /** Servers to dial. @default the servers the registry names with the credentials */
  servers?: string[];
  /**
   * Keep each publisher's order across a rotation: the new connection's messages are held until
   * the old one has drained, and publishing pauses while the old connection flushes.
   * @default false
   */
  ordered?: boolean;
  /** More nats.js connect options (not `servers` or `authenticator`). */
  connectOptions?: Partial<ConnectionOptions>;
}

/** A nats.js status event, or one of the handle's own. */
export type HandleStatus =
  Status | { type: 'rotated'; server: string; rotations: number } | { type: 'lost'; error?: Error };

/** How long a flush or drain may take before the rotation goes on without it. */
const SETTLE_TIMEOUT_MS = 10_000;

/**
 * Waits for a flush or drain of `nc`; true when it completed. nats.js leaves a PING unanswered
 * forever when its connection closes under it (the server cut an expired user, say), so the
 * wait also ends when the connection closes or after SETTLE_TIMEOUT_MS: a rotation that waited
 * forever would hold up every later one, and close().
 */
async function settled(nc: NatsConnection, p: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    p.then(
      () => true,
      () => false,
    ),
    nc.closed().then(() => false),
    new Promise<false>((ok) => (timer = setTimeout(() => ok(false), SETTLE_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  return outcome;
}

/**
 * Drains `nc` and makes sure it is closed: a drain whose final flush fails (the server went away
 * mid-drain) leaves nats.js's connection open and redialling forever.
 */
async function drained(nc: NatsConnection): Promise<void> {
  if (!nc.isClosed() && !nc.isDraining()) await settled(nc, nc.drain());
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

export class NatsHandle {
  private current: NatsConnection | undefined;
  private creds: NatsCredentials;
  private readonly subs = new Set<RotatingSubscription>();
  private readonly listeners = new Set<Channel<HandleStatus>>();
  /** Rotations run one at a time, in the order they were asked for. */
  private chain: Promise<void> = Promise.resolve();
  /** Ordered mode: publishes made while the old connection flushes, sent on the new one after. */
  private paused: Array<() => void> | undefined;
  private js: { nc: NatsConnection; client: JetStreamClient } | undefined;
  private closing = false;
  /** The authenticator of the current credentials, made once per credentials. */
  private signer: { jwt: string; seed: string; auth: Authenticator } | undefined;
  /** Completed rotations. */
  rotations = 0;
  /** Second copies dropped by subscriptions that have ended. */
  private droppedByEnded = 0;

  private constructor(
    private readonly o: NatsHandleOptions,
    creds: NatsCredentials,
  ) {
    this.creds = creds;
  }

  static async open(o: NatsHandleOptions, creds: NatsCredentials): Promise<NatsHandle> {
    const h = new NatsHandle(o, creds);
    h.adopt(await h.dial());
    return h;
  }

  /** Second copies of messages dropped during rotation overlaps, over all subscriptions. */
  get duplicatesDropped(): number {
    let n = this.droppedByEnded;
    for (const s of this.subs) n += s.duplicatesDropped;
    return n;
  }

  /** The connection in use now, for what the handle does not wrap. It changes at each rotation. */
  get connection(): NatsConnection | undefined {
    return this.current;
  }

  /** Moves to a connection authenticated with `creds`, losing no message (see the file's comment). */
  rotate(creds: NatsCredentials): Promise<void> {
    const next = this.chain.then(() => this.rotateNow(creds));
    this.chain = next.catch(() => undefined);
    return next;
  }

  publish(subject: string, payload?: Payload, options?: PublishOptions): void {
    if (this.paused) {
      this.paused.push(() => this.publish(subject, payload, options));
      return;
    }
    this.live().publish(subject, payload, options);
  }

  /** Publishes `data` stamped with `id` as Snowflake-Id and Nats-Msg-Id, as one frame (stamp-frame.ts). */
  publishStamped(subject: string, data: Uint8Array, id: string): void {
    if (this.paused) {
      this.paused.push(() => this.publishStamped(subject, data, id));
      return;
    }
    publishStamped(this.live(), subject, data, id);
  }

  subscribe(subject: string, opts: SubscribeOptions = {}): RotatingSubscription {
    this.live();
    const sub = new RotatingSubscription(subject, opts, (s) => {
      this.subs.delete(s);
      this.droppedByEnded += s.duplicatesDropped;
    });
    this.subs.add(sub);
    sub.attach(this.current!);
    return sub;
  }

  request(subject: string, payload?: Payload, opts?: RequestOptions): Promise<Msg> {
    return this.live().request(subject, payload, opts);
  }

  /** Resolves when the server has processed everything sent so far; rejects if the connection closes first. */
  flush(): Promise<void> {
    const nc = this.live();
    return Promise.race([
      nc.flush(),
      nc.closed().then(() => {
        throw new ClosedError('the NATS connection closed before the flush was answered');
      }),
    ]);
  }

  /**
   * A JetStream client on the connection in use. Publishing through it is rotation-safe when
   * obtained again per use (or use NodeLease.publish with `jetstream`); consumers opened on it end
   * with that connection.
   */
  jetstream(opts?: JetStreamOptions): JetStreamClient {
    const nc = this.live();
    if (this.js?.nc !== nc || opts) this.js = { nc, client: jetstream(nc, opts) };
    return this.js.client;
  }

  /** Status events of every connection in turn, and the handle's own (`rotated`, `lost`). */
  status(): AsyncIterable<HandleStatus> {
    const ch: Channel<HandleStatus> = new Channel(() => this.listeners.delete(ch));
    this.listeners.add(ch);
    return ch;
  }

  /** Drains the connection in use and ends every subscription. */
  async close(): Promise<void> {
    this.closing = true;
    await this.chain;
    const nc = this.current;
    this.current = undefined;
    if (nc) await drained(nc);
    for (const s of [...this.subs]) s.unsubscribe();
    for (const l of this.listeners) l.end();
  }

  private live(): NatsConnection {
    if (this.closing) throw new ClosedError('the NATS handle is closed');
    const nc = this.current;
    if (!nc || nc.isClosed()) {
      throw new ClosedError('no NATS connection: the server closed it; a new one comes with the next credentials');
    }
    return nc;
  }

  private async dial(): Promise<NatsConnection> {
    const servers = this.o.servers ?? this.creds.servers;
    return connect({
      // Reconnects after a server restart keep going as long as it takes; an auth failure twice
      // in a row (a revoked or expired user) still ends the connection, so it never redials forever.
      maxReconnectAttempts: -1,
      ...this.o.connectOptions,
      servers,
      // Read at every CONNECT, so a reconnect of this connection uses the newest credentials.
      authenticator: (nonce?: string) => {
        const c = this.creds;
        // Signed with Node's Ed25519 (native-auth.ts): nats.js's own takes ~30 ms a connect.
        if (this.signer?.jwt !== c.jwt || this.signer.seed !== c.seed) {
          this.signer = { jwt: c.jwt, seed: c.seed, auth: nativeJwtAuthenticator(c.jwt, c.seed) };
        }
        const auth = this.signer.auth(nonce);
        // The auth callout's connect token (creds.ts), beside the sentinel's JWT.
        return c.token !== undefined ? { ...auth, auth_token: c.token } : auth;
      },
    });
  }

  /** Makes `nc` the connection in use, and watches it. */
  private adopt(nc: NatsConnection): void {
    this.current = nc;
    void (async () => {
      for await (const s of nc.status()) if (this.current === nc) this.emit(s);
    })().catch(() => undefined);
    void nc.closed().then((err) => {
      if (this.current !== nc || this.closing) return;
      // The server ended it (a revoked user, credentials that expired before a renewal landed):
      // publishing fails until the keeper brings credentials to rotate to.
      this.current = undefined;
      for (const s of this.subs) s.forget(nc);
      this.emit({ type: 'lost', ...(err ? { error: err } : {}) });
    });
  }

  private async rotateNow(creds: NatsCredentials): Promise<void> {
    if (this.closing) return;
    this.creds = creds;
    const next = await this.dial();
    const old = this.current;
    const ordered = this.o.ordered === true;
    const subs = [...this.subs];
    if (old && !old.isClosed()) for (const s of subs) s.beginOverlap(next, ordered);
    for (const s of subs) s.attach(next);
    if (!(await settled(next, next.flush()))) {
      // The old connection still carries everything: give the new one up, and try again later.
      for (const s of subs) s.abandon(next);
      await next.close().catch(() => undefined);
      throw new ClosedError('the new NATS connection closed or did not answer before it could be used');
    }
    if (!old || old.isClosed()) {
      if (old) for (const s of subs) s.endOverlap(old);
      this.switchTo(next);
      return;
    }
    if (ordered) {
      this.paused = [];
      await settled(old, old.flush());
    }
    this.switchTo(next);
    await drained(old);
    // Anything the server routed to both connections reached the new one before this PONG.
    await settled(next, next.flush());
    for (const s of subs) s.endOverlap(old);
  }

  private switchTo(next: NatsConnection): void {
    this.adopt(next);
    this.rotations++;
    const paused = this.paused;
    this.paused = undefined;
    for (const p of paused ?? []) p();
    this.emit({ type: 'rotated', server: next.getServer(), rotations: this.rotations });
  }

  private emit(s: HandleStatus): void {
    for (const l of this.listeners) l.push(s);
  }
}
