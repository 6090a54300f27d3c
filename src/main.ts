/**
 * The composition root: the one place that picks the adapters (store, identity, NATS, HTTP) and
 * wires them into the registry.
 */
import { pino, type Logger } from 'pino';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { ConfigError } from './config/load.js';
import type { Config, NatsConfig } from './config/types.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import type { ReadinessCheck } from './http/ports.js';
import { Authenticator } from './identity/authenticator.js';
import { TokenVerifier } from './identity/verifier.js';
import { NatsAuthority } from './nats/authority.js';
import { InvalidNatsKeys, loadNatsKeys } from './nats/keys.js';
import { keysToRevoke, LeaseCredentials, rotationDetail } from './nats/lease-credentials.js';
import { RateLimiter } from './registry/rate-limit.js';
import { Registry } from './registry/registry.js';
import type { Actor, Lease } from './registry/types.js';
import type { Store } from './store/port.js';
import { PostgresStore } from './store/postgres.js';
import { SqliteStore } from './store/sqlite.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  logLevel?: string;
  clock?: Clock;
}

/** How long start-up waits for the NATS servers to hold the account. */
const FIRST_PUSH_WAIT_MS = 5_000;

/** How often the NATS revocations are checked against the store's ended leases. */
const REVOCATION_CATCH_UP_MS = 30_000;

/** How often leases whose expiry passed unnoticed are ended (and audited). */
const SWEEP_EVERY_MS = 1000;

/** SQLite takes the given clock; PostgreSQL always uses the database's, shared by every replica. */
export async function openStore(config: Config['store'], clock: Clock = systemClock): Promise<Store> {
  if (config.kind === 'sqlite') return new SqliteStore(config.path, clock);
  return PostgresStore.open(config.url);
}

/** The NATS side: credentials for leases, and live revocation of the users of ended leases. */
async function startNats(config: NatsConfig, lease: Config['lease'], store: Store, registry: Registry, log: Logger) {
  let keys;
  try {
    keys = await loadNatsKeys(config.dir);
  } catch (e) {
    if (e instanceof InvalidNatsKeys) throw new ConfigError(`nats.dir: ${e.message}`);
    throw e;
  }
  const system: Actor = { kind: 'system' };
  const record = (actor: Actor, action: string, detail: Record<string, unknown>) =>
    registry.record(actor, action, detail);
  const authority = new NatsAuthority({
    keys,
    store: store.natsState,
    servers: config.servers,
    signingKeyRotationMs: config.signingKeyRotationMs,
    // A JWT ends with its lease; the margin covers a store clock a little ahead of this process's.
    maxJwtTtlMs: lease.ttlMs + lease.maxClockSkewMs,
    onError: (err) => log.warn({ err }, 'NATS account update failed; retrying'),
    onRotated: (k) => {
      record(system, 'keys.rotated', { ...rotationDetail(k), scheduled: true }).catch((err: unknown) =>
        log.error({ err }, 'could not audit a scheduled key rotation'),
      );
    },
  });
  await authority.start();
  // Start ready when NATS is: the first push usually takes milliseconds. A server that is down
  // only delays the start; /readyz says so and the push goes on in the background.
  await authority.synced(FIRST_PUSH_WAIT_MS).catch((err: unknown) => log.warn({ err }, 'NATS not reachable yet'));
  // A crash (or a failed save) between ending a lease and saving its revocation would leave its
  // JWT valid until exp: the store's ended leases are the truth, so catch up from them now and
  // every little while. Only missing revocations are added; an unchanged state is not pushed.
  const catchUp = async () => {
    const since = (await store.now()) - (lease.ttlMs + lease.maxClockSkewMs);
    await authority.revoke(keysToRevoke(await store.endedEarlySince(since)), { onlyMissing: true });
  };
  const catchUpLogged = () => {
    catchUp().catch((err: unknown) => log.error({ err }, 'NATS revocations not yet pushed; retrying'));
  };
  catchUpLogged();
  const catchUpTimer = setInterval(catchUpLogged, REVOCATION_CATCH_UP_MS);
  catchUpTimer.unref();
  const revoke = async (ended: Lease[]) => {
    await authority
      .revoke(keysToRevoke(ended))
      .catch((err: unknown) => log.error({ err }, 'NATS revocation not yet pushed; retrying'));
  };
  const ready: ReadinessCheck = {
    name: 'nats',
    check: async () => {
      if (!authority.ready())
        throw new Error('the NATS servers are unreachable or do not hold the current account yet');
    },
  };
  const close = async () => {
    clearInterval(catchUpTimer);
    await authority.close();
  };
  return { credentials: new LeaseCredentials(authority, config, record), revoke, ready, close };
}

export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const log = pino({ level: opts.logLevel ?? config.log.level });
  const store = await openStore(config.store, opts.clock);
  let onEnded: ((ended: Lease[]) => Promise<void>) | undefined;
  const registry = new Registry({ store, pools: config.pools, lease: config.lease, onEnded: (e) => onEnded?.(e) });
  const readiness: ReadinessCheck[] = [{ name: 'store', check: () => store.ping() }];
  let nats: Awaited<ReturnType<typeof startNats>> | undefined;
  try {
    if (config.nats) nats = await startNats(config.nats, config.lease, store, registry, log);
  } catch (e) {
    await store.close();
    throw e;
  }
  if (nats) {
    onEnded = nats.revoke;
    readiness.push(nats.ready);
  }
  const adminIssuer = config.issuers.find((i) => i.name === config.admin.issuer);
  const metrics = new Metrics(() => registry.occupancy());
  metrics.watchReadiness(readiness);
  const verifier = new TokenVerifier(config.issuers, { clockToleranceMs: config.lease.maxClockSkewMs });
  const app = await buildApp({
    registry,
    auth: new Authenticator(verifier, config.admin),
    ...(nats ? { credentials: nats.credentials } : {}),
    readiness,
    acquireLimiter: new RateLimiter(
      config.lease.acquiresPerSecond,
      config.lease.acquireBurst,
      opts.clock ?? systemClock,
    ),
    metrics,
    ttlMs: config.lease.ttlMs,
    maxClockSkewMs: config.lease.maxClockSkewMs,
    issuerNames: config.issuers.map((i) => i.name),
    logger: log,
    console: {
      config: config.console,
      ...(adminIssuer ? { adminIssuer: { name: adminIssuer.name, issuer: adminIssuer.issuer } } : {}),
    },
  });

  const sweeper = setInterval(() => {
    registry.sweep().catch((err: unknown) => app.log.warn({ err }, 'expiry sweep failed'));
  }, SWEEP_EVERY_MS);
  sweeper.unref();

  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    clearInterval(sweeper);
    await nats?.close();
    await store.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    url: `http://${host}:${port}`,
    async close() {
      clearInterval(sweeper);
      await app.close();
      await nats?.close();
      await store.close();
    },
  };
}
