/**
 * The auth callout on the wire: connected as the callout user, answers `$SYS.REQ.USER.AUTH`.
 * Each request is sealed for our xkey (the server's own in the `Nats-Server-Xkey` header); the
 * answer is an authorization response JWT signed by the AUTH account, holding either a user JWT
 * (signed by the application account's active signing key: in operator mode the signer's account
 * is where the server puts the user) or an error, sealed back for the server. A refusal is always
 * answered, never dropped, so the client sees `Authorization Violation` at once.
 *
 * What to grant is decided elsewhere (`authorize`, see callout-decision.ts); this file only
 * speaks the protocol. The token is never logged, and never part of an error sent back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuthorizationRequest } from '@nats-io/jwt';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { CalloutKeys } from './callout-keys.js';
import { CalloutRefusal, type RefusalReason } from './callout-decision.js';
import { signJwt } from './jwt-encode.js';
import { verifiedClaims } from './jwt-verify.js';
import { createSigner, type NativeSigner } from './signer.js';
import { formatCreds } from './user-jwt.js';
import { XkeyBox } from './xkey.js';

export const AUTH_SUBJECT = '$SYS.REQ.USER.AUTH';

/** What the responder asks of the rest: a signed user JWT for this user nkey, or a CalloutRefusal. */
export type Authorize = (req: { token: string | undefined; userNkey: string }) => Promise<{
  jwt: string;
  kind: 'reader' | 'publisher';
}>;

export interface CalloutResponderOptions {
  keys: CalloutKeys;
  servers: string[];
  authorize: Authorize;
  /** Every answer: the kind granted, or the refusal's reason. */
  onAnswer?: (outcome: 'reader' | 'publisher' | RefusalReason) => void;
  /** A failure that is not a refusal (the responder's own): logged by the caller, without the token. */
  onError?: (err: Error) => void;
  reconnectDelayMs?: number;
}

const te = new TextEncoder();
const td = new TextDecoder();

export class CalloutResponder {
  readonly #o: CalloutResponderOptions;
  readonly #xkey: XkeyBox;
  readonly #signer: NativeSigner;
  #nc: NatsConnection | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  #connected = false;
  readonly #stop = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: CalloutResponderOptions) {
    this.#o = options;
    this.#xkey = new XkeyBox(options.keys.xkey.seed);
    this.#signer = createSigner(options.keys.account.seed);
  }

  /** Connects (retrying in the background until close()); resolves once subscribed, or after `waitMs`. */
  async start(waitMs = 5000): Promise<void> {
    this.#loop ??= this.#keepConnected();
    const until = Date.now() + waitMs;
    while (!this.#connected && !this.#closed && Date.now() < until) await sleep(20);
  }

  /** For /readyz: subscribed on a live connection. */
  ready(): boolean {
    return this.#connected;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    await Promise.allSettled([...this.#inFlight]);
    await this.#nc?.close().catch(() => undefined);
    await this.#loop;
  }

  async #keepConnected(): Promise<void> {
    const delay = this.#o.reconnectDelayMs ?? 250;
    while (!this.#closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.#o.servers,
          authenticator: credsAuthenticator(te.encode(formatCreds(this.#o.keys.user.jwt, this.#o.keys.user.seed))),
          name: 'snowgate-auth-callout',
          maxReconnectAttempts: -1,
          reconnectTimeWait: delay,
        });
      } catch (e) {
        this.#o.onError?.(e as Error);
        await sleep(delay, undefined, { signal: this.#stop.signal }).catch(() => undefined);
        continue;
      }
      this.#nc = nc;
      if (this.#closed) break;
      nc.subscribe(AUTH_SUBJECT, {
        callback: (err, m) => {
          if (err) return this.#o.onError?.(err);
          const p = this.#answer(m).catch((e: Error) => this.#o.onError?.(e));
          this.#inFlight.add(p);
          void p.finally(() => this.#inFlight.delete(p));
        },
      });
      await nc.flush().catch(() => undefined);
      this.#connected = true;
      const watching = (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect') this.#connected = false;
          else if (s.type === 'reconnect') this.#connected = true;
        }
      })();
      await nc.closed();
      this.#connected = false;
      await watching;
      if (!this.#closed) await sleep(delay, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    }
    await this.#nc?.close().catch(() => undefined);
  }

  async #answer(m: Msg): Promise<void> {
    const serverXkey = m.headers?.get('Nats-Server-Xkey') || undefined;
    let request: AuthorizationRequest;
    try {
      const opened = serverXkey ? this.#xkey.open(m.data, serverXkey) : m.data;
      if (!opened) throw new Error('not sealed for this xkey');
      const claims = verifiedClaims<AuthorizationRequest>(td.decode(opened), 'server');
      request = claims.nats as AuthorizationRequest;
      if (typeof request?.user_nkey !== 'string' || typeof request.server_id?.id !== 'string') {
        throw new Error('no user_nkey or server_id');
      }
      if (request.server_id.id !== claims.iss) throw new Error('signed by a server other than the one it names');
    } catch (e) {
      // Nothing to answer to: no server id, no user key, or not from a server at all. The server
      // times the client out.
      this.#o.onError?.(new Error(`auth callout: unreadable request: ${(e as Error).message}`));
      return;
    }
    const userNkey = request.user_nkey;
    const serverId = request.server_id.id;
    let claims: { jwt?: string; error?: string };
    try {
      const granted = await this.#o.authorize({ token: request.connect_opts?.auth_token, userNkey });
      claims = { jwt: granted.jwt };
      this.#o.onAnswer?.(granted.kind);
    } catch (e) {
      const reason = e instanceof CalloutRefusal ? e.reason : 'internal';
      if (!(e instanceof CalloutRefusal)) this.#o.onError?.(e as Error);
      claims = { error: e instanceof CalloutRefusal ? e.message : 'internal error' };
      this.#o.onAnswer?.(reason);
    }
    const response = signJwt(
      {
        name: 'snowgate',
        sub: userNkey,
        aud: serverId,
        nats: { ...claims, type: 'authorization_response', version: 2 },
      },
      this.#signer,
      Math.floor(Date.now() / 1000),
    );
    const body = te.encode(response);
    m.respond(serverXkey ? this.#xkey.seal(body, serverXkey) : body);
  }
}
