/** What NodeLease.acquire takes and emits, with its defaults, and how a grant becomes credentials. */
import type { JetStreamPublishOptions, PubAck } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { Registry as PromRegistry } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import type { NatsCredentials } from './creds.js';
import { NatsNotConfiguredError } from './errors.js';
import type { Held, KeeperOptions, LeaseRequest, Lost } from './lease-keeper.js';
import type { NatsHandleOptions } from './nats-handle.js';
import { systemRuntime, type Runtime } from './runtime.js';
import { parseCreds } from './native-auth.js';
import { resolveToken, type TokenProvider } from './token.js';
import type { LeaseJson, LeaseResponse } from './wire.js';

export interface NatsOptions extends NatsHandleOptions {
  /**
   * How the connection authenticates. `jwt`: the lease's own user JWT and seed. `callout`: through
   * the registry's NATS auth callout (nats-server 2.10+, CONTRACT §8): the `sentinel` creds plus the
   * connect token `{"token","lease"}`; the server asks the registry, which answers with a user for
   * this lease, revoked when it ends. Each renewal moves to a new connection, made before the old
   * one is drained, as with `jwt`.
   * @default 'jwt'
   */
  auth?: 'jwt' | 'callout';
  /** With `auth: 'callout'`: the sentinel's `.creds` text (`snowgate init --auth-callout` writes it). */
  sentinel?: string;
}

export interface NodeLeaseOptions {
  /** The registry's base URL. */
  registry: string;
  /** A bearer token, or a function giving one; called before every request (tokens rotate). */
  token: TokenProvider;
  /** @default the registry's default pool */
  pool?: string;
  /** This process: a restart with the same instance supersedes its old lease. */
  instance?: string;
  /** Ask for this node. */
  node?: number;
  /**
   * Who makes the lease's NATS user key: `local` (here; its seed never crosses the network) or
   * `registry` (the grant then carries `nats.seed` and `nats.creds`, as CONTRACT §4 shows).
   * @default 'local'
   */
  userKey?: 'local' | 'registry';
  /** Connect to NATS with the lease's credentials (true, or options). @default false */
  nats?: boolean | NatsOptions;
  /**
   * Called with each grant and renewal before it is used (to write a creds file, say). If it
   * throws, the lease is given back and the NodeLease closes with that error.
   */
  onGrant?: (grant: Grant) => void | Promise<void>;
  /** @default 10_000 */
  requestTimeoutMs?: number;
  /** Retry waits for failed renewals and acquisitions. @default { initialMs: 500, maxMs: 30_000 } */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Also expose the client metrics on this prom-client registry. */
  metrics?: { registry: PromRegistry };
  /** The wall clock IDs are minted from. @default Date.now */
  clock?: Clock;
  /** Clocks, timers, fetch and randomness: for tests. */
  runtime?: Partial<Runtime>;
}

export interface Grant {
  kind: 'acquired' | 'renewed';
  response: LeaseResponse;
  /** The NATS user credentials, when the registry issues them. */
  credentials: NatsCredentials | undefined;
}

export interface PublishOptions {
  /** More headers; Snowflake-Id and Nats-Msg-Id are set over them. */
  headers?: MsgHdrs;
  /** Publish through JetStream and return its ack (true, or JetStream publish options). */
  jetstream?: boolean | Partial<JetStreamPublishOptions>;
  /** Add Snowflake-Sig, signed by the lease's NATS user key (see signature.ts for what is signed). */
  signed?: boolean;
}

export type StampedAck = PubAck & { id: string };

export interface NodeLeaseEventMap {
  renewed: CustomEvent<{ lease: LeaseJson }>;
  acquired: CustomEvent<{ lease: LeaseJson }>;
  lost: CustomEvent<Lost>;
  fenced: CustomEvent<{ leaseId: string }>;
  rotated: CustomEvent<{ rotations: number }>;
  /** A renewal or acquisition failed and is retried after `waitMs`. */
  retrying: CustomEvent<{ what: 'renew' | 'acquire'; error: Error; waitMs: number }>;
  error: CustomEvent<{ error: Error }>;
}

export function withDefaults(o: NodeLeaseOptions) {
  return {
    ...o,
    requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
    backoff: { initialMs: o.backoff?.initialMs ?? 500, maxMs: o.backoff?.maxMs ?? 30_000 },
    clock: o.clock ?? systemClock,
    runtime: { ...systemRuntime, ...o.runtime },
    nats: o.nats === true ? {} : o.nats || undefined,
  };
}

export function keeperOptions(o: ReturnType<typeof withDefaults>): KeeperOptions {
  const request: LeaseRequest = {};
  if (o.pool !== undefined) request.pool = o.pool;
  if (o.instance !== undefined) request.instance = o.instance;
  if (o.node !== undefined) request.node = o.node;
  return {
    registry: o.registry,
    token: o.token,
    request,
    localUserKey: o.userKey !== 'registry',
    requestTimeoutMs: o.requestTimeoutMs,
    backoff: o.backoff,
    runtime: o.runtime,
  };
}

export function credentialsOf(h: Held): NatsCredentials | undefined {
  const n = h.body.nats;
  return n && h.seed ? { jwt: n.jwt, seed: h.seed, expiresAt: n.expiresAt, servers: n.servers } : undefined;
}

/** What the handle connects with under `auth: 'callout'`: the sentinel, and a fresh token naming the lease. */
export async function calloutCredentials(
  h: Held,
  nats: NatsOptions,
  token: TokenProvider,
  own: NatsCredentials | undefined,
): Promise<NatsCredentials> {
  if (!nats.sentinel) throw new NatsNotConfiguredError("nats.auth 'callout' needs nats.sentinel (the sentinel creds)");
  const sentinel = parseCreds(nats.sentinel);
  const servers = nats.servers ?? own?.servers;
  if (!servers) throw new NatsNotConfiguredError("nats.auth 'callout' needs nats.servers: the registry named none");
  return {
    ...sentinel,
    token: JSON.stringify({ token: await resolveToken(token), lease: h.body.lease.id }),
    expiresAt: own?.expiresAt ?? h.body.lease.expiresAt,
    servers,
  };
}
