/**
 * Pushes the application account's JWT to nats-server's full resolver, in order.
 *
 * nats-server 2.9 takes whatever account JWT arrives last, even an older one, so order is
 * ours to keep: one push in flight; a newer JWT queued behind supersedes older queued ones
 * (state is cumulative, so the newer carries their changes); a JWT older than one already
 * accepted is never pushed. After every accepted push and on every (re)connect, `refresh`
 * (when given) is asked for the freshest JWT: that is how a replica that lost a race to
 * another replica, or reconnected to a restarted server, ends up pushing the latest state.
 *
 * A restarted server serves the account JWT it held before, so revocations saved while it was
 * down wait for this publisher: it redials often (`reconnectDelayMs`) and pushes before anything
 * else once back. A client that reconnects first may still publish until that push lands.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';

export const CLAIMS_UPDATE_SUBJECT = '$SYS.REQ.CLAIMS.UPDATE';

export interface VersionedJwt {
  jwt: string;
  /** Strictly increases with the state the JWT was built from. */
  seq: number;
}

export interface AccountPublisherOptions {
  servers: string[];
  /** The system user's creds text. */
  systemCreds: string;
  /** Per request to the server. */
  requestTimeoutMs?: number;
  /** Pause between failed attempts (push or connect). */
  retryDelayMs?: number;
  /** Pause between redials of a lost server: short, so pending revocations land first. */
  reconnectDelayMs?: number;
  refresh?: () => Promise<VersionedJwt | undefined>;
  onError?: (err: Error) => void;
  /** On every (re)connect: what the server's INFO says. */
  onServerInfo?: (info: ServerFacts) => void;
}

export interface ServerFacts {
  /** The largest message the server accepts: an account JWT must fit. */
  maxPayload: number;
  version: string;
}

export interface PublisherStatus {
  connected: boolean;
  /** Highest seq the servers accepted. */
  acceptedSeq: number;
  /** Highest seq handed to publish(). */
  latestSeq: number;
  lastError?: string;
}

/** The server answered a push with an error: the JWT itself is wrong, retrying will not help. */
export class PushRejected extends Error {}
export class PushTimeout extends Error {}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class AccountPublisher {
  readonly #o: Required<Omit<AccountPublisherOptions, 'refresh' | 'onError' | 'onServerInfo'>> &
    AccountPublisherOptions;
  #nc: NatsConnection | undefined;
  #connected = false;
  #closed = false;
  #latest: VersionedJwt | undefined;
  #accepted: VersionedJwt | undefined;
  /** Set on (re)connect: the server may have lost or been given something else since. */
  #repush = false;
  #pumping = false;
  #rejected: VersionedJwt | undefined;
  #waiters: Waiter[] = [];
  #lastError: string | undefined;
  // Cuts pauses short on close().
  readonly #stop = new AbortController();
  #connectLoop: Promise<void> | undefined;

  constructor(options: AccountPublisherOptions) {
    this.#o = { requestTimeoutMs: 5000, retryDelayMs: 1000, reconnectDelayMs: 100, ...options };
  }

  /** Connects in the background (forever, until close()); pushes start once connected. */
  start(): void {
    this.#connectLoop ??= this.#keepConnected();
  }

  /**
   * Queues `jwt`; resolves once the servers accepted it or a newer one, rejects with
   * PushRejected if the server refuses it, or PushTimeout after `timeoutMs` (the JWT stays
   * queued: it is pushed when the servers come back).
   */
  publish(v: VersionedJwt, timeoutMs?: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the account publisher is closed'));
    if (this.#accepted && v.seq <= this.#accepted.seq) return Promise.resolve();
    // Refused already, and not pushed again until a reconnect: a waiter would wait for nothing.
    if (this.#rejected && v.seq <= this.#rejected.seq) {
      return Promise.reject(new PushRejected('the servers refused this account JWT; it is retried after a reconnect'));
    }
    if (!this.#latest || v.seq > this.#latest.seq) this.#latest = v;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ seq: v.seq, resolve, reject }));
    this.#kick();
    if (timeoutMs === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PushTimeout(`NATS did not accept the account update within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  }

  /** For /readyz: connected, and the latest push did not fail. */
  ready(): boolean {
    return this.#connected && this.#lastError === undefined;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Highest seq the servers accepted (0 before the first). */
  get acceptedSeq(): number {
    return this.#accepted?.seq ?? 0;
  }

  /** The latest account JWT the servers accepted from this publisher (undefined before the first). */
  acceptedJwt(): string | undefined {
    return this.#accepted?.jwt;
  }

  status(): PublisherStatus {
    return {
      connected: this.#connected,
      acceptedSeq: this.#accepted?.seq ?? 0,
      latestSeq: this.#latest?.seq ?? 0,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    for (const w of this.#waiters.splice(0)) w.reject(new Error('the account publisher closed'));
    await this.#nc?.close().catch(() => undefined);
    await this.#connectLoop;
  }

  async #keepConnected(): Promise<void> {
    while (!this.#closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.#o.servers,
          authenticator: credsAuthenticator(new TextEncoder().encode(this.#o.systemCreds)),
          name: 'snowgate-account-publisher',
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.#o.reconnectDelayMs,
          reconnectJitter: Math.min(100, this.#o.reconnectDelayMs),
        });
      } catch (e) {
        this.#fail(e as Error);
        await this.#pause();
        continue;
      }
      this.#nc = nc;
      if (this.#closed) break;
      this.#onConnected();
      const watching = this.#watch(nc);
      await nc.closed();
      this.#connected = false;
      await watching;
      if (!this.#closed) await this.#pause();
    }
    await this.#nc?.close().catch(() => undefined);
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.#connected = false;
      else if (s.type === 'reconnect') this.#onConnected();
    }
  }

  #onConnected(): void {
    const info = this.#nc?.info;
    if (info) this.#o.onServerInfo?.({ maxPayload: info.max_payload, version: info.version });
    this.#connected = true;
    this.#lastError = undefined; // a refused JWT is refused again on the re-push below
    this.#repush = true;
    this.#kick();
  }

  #fail(e: Error): void {
    // A push cut short by close() is no failure worth a warning.
    if (this.#closed) return;
    // Once per distinct failure, not once per retry while a server is down.
    if (e.message !== this.#lastError) this.#o.onError?.(e);
    this.#lastError = e.message;
  }

  async #pause(): Promise<void> {
    await sleep(this.#o.retryDelayMs, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  #kick(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    void this.#pump().finally(() => {
      this.#pumping = false;
      // A publish() that landed while the pump was winding down found it busy: pick it up.
      // (On the next turn: a bug here must not become a microtask loop that starves I/O.)
      if (this.#connected && (this.#repush || this.#pending())) setImmediate(() => this.#kick());
    });
  }

  #pending(): boolean {
    const l = this.#latest;
    return !!l && l !== this.#rejected && (!this.#accepted || l.seq > this.#accepted.seq);
  }

  async #pump(): Promise<void> {
    while (!this.#closed && this.#connected) {
      // Before every push, not only after one: another replica may have saved a newer state since
      // this one's, and pushing the older one over it would undo that replica's revocations.
      await this.#refresh();
      const cur = this.#latest;
      if (!cur) {
        this.#repush = false; // nothing to re-push yet: the first publish() will push
        return;
      }
      if (!this.#repush && (cur === this.#rejected || (this.#accepted && cur.seq <= this.#accepted.seq))) return;
      if (!this.#repush && this.#accepted?.jwt === cur.jwt) {
        // Same account content under a later state version: nothing for the server to learn.
        this.#accept(cur);
        continue;
      }
      this.#repush = false;
      try {
        await this.#push(cur.jwt);
        this.#lastError = undefined;
        this.#accept(cur);
      } catch (e) {
        if (e instanceof PushRejected) {
          this.#rejected = cur; // not again until a reconnect: the server would say the same
          this.#fail(e);
          this.#reject(cur.seq, e);
          if (this.#latest === cur) return;
        } else {
          this.#fail(e as Error);
          this.#repush = true;
          await this.#pause();
        }
      }
    }
  }

  async #refresh(): Promise<void> {
    if (!this.#o.refresh) return;
    try {
      const fresh = await this.#o.refresh();
      if (fresh && (!this.#latest || fresh.seq > this.#latest.seq)) this.#latest = fresh;
    } catch (e) {
      this.#fail(e as Error);
    }
  }

  async #push(jwt: string): Promise<void> {
    const nc = this.#nc;
    if (!nc) throw new Error('not connected');
    const max = nc.info?.max_payload;
    if (max !== undefined && Buffer.byteLength(jwt) > max) {
      throw new PushRejected(
        `the account JWT (${Buffer.byteLength(jwt)} bytes) exceeds the server's max_payload (${max} bytes)`,
      );
    }
    const reply = await nc.request(CLAIMS_UPDATE_SUBJECT, jwt, { timeout: this.#o.requestTimeoutMs });
    let body: { data?: unknown; error?: { description?: string; code?: number } };
    try {
      body = reply.json();
    } catch {
      throw new Error(`unexpected reply to ${CLAIMS_UPDATE_SUBJECT}: ${reply.string()}`);
    }
    if (body.error !== undefined) {
      throw new PushRejected(
        `nats-server refused the account JWT: ${body.error.description ?? JSON.stringify(body.error)}`,
      );
    }
    if (body.data === undefined) throw new Error(`unexpected reply to ${CLAIMS_UPDATE_SUBJECT}: ${reply.string()}`);
  }

  #accept(v: VersionedJwt): void {
    if (!this.#accepted || v.seq >= this.#accepted.seq) this.#accepted = v;
    const seq = this.#accepted.seq;
    this.#waiters = this.#waiters.filter((w) => (w.seq <= seq ? (w.resolve(), false) : true));
  }

  #reject(seq: number, e: Error): void {
    this.#waiters = this.#waiters.filter((w) => (w.seq <= seq ? (w.reject(e), false) : true));
  }
}
