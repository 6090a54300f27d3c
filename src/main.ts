/**
 * The composition root: the one place that picks the adapters (store, identity, NATS, HTTP) and
 * wires them into the registry.
 */
import type { Server as HttpsServer } from 'node:https';
import { pino } from 'pino';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Config } from './config/types.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import type { ReadinessCheck } from './http/ports.js';
import { readTls, reloadTls } from './http/tls.js';
import { Authenticator } from './identity/authenticator.js';
import { TokenVerifier } from './identity/verifier.js';
import { startNatsService, type NatsService } from './nats/service.js';
import { RateLimiter } from './registry/rate-limit.js';
import { Registry } from './registry/registry.js';
import type { Lease } from './registry/types.js';
import type { Store } from './store/port.js';
import { PostgresStore } from './store/postgres.js';
import { SqliteStore } from './store/sqlite.js';

export interface RunningServer {
  url: string;
  /** Reads server.tls's files again (on SIGHUP): false when the listener has no TLS. */
  reloadTls(): boolean;
  close(): Promise<void>;
}

export interface ServerOptions {
  logLevel?: string;
  clock?: Clock;
}

/** How often leases whose expiry passed unnoticed are ended (and audited). */
const SWEEP_EVERY_MS = 1000;
const LISTEN_BACKLOG = 4096;

/** SQLite takes the given clock; PostgreSQL always uses the database's, shared by every replica. */
export async function openStore(config: Config['store'], clock: Clock = systemClock): Promise<Store> {
  if (config.kind === 'sqlite') return new SqliteStore(config.path, clock);
  return PostgresStore.open(config.url);
}

export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const log = pino({ level: opts.logLevel ?? config.log.level });
  const tls = config.server.tls ? readTls(config.server.tls) : undefined;
  const store = await openStore(config.store, opts.clock);
  let onEnded: ((ended: Lease[]) => Promise<void>) | undefined;
  const registry = new Registry({ store, pools: config.pools, lease: config.lease, onEnded: (e) => onEnded?.(e) });
  const readiness: ReadinessCheck[] = [{ name: 'store', check: () => store.ping() }];
  const metrics = new Metrics(() => registry.occupancy());
  const verifier = new TokenVerifier(config.issuers, { clockToleranceMs: config.lease.maxClockSkewMs });
  const auth = new Authenticator(verifier, config.admin);
  let nats: NatsService | undefined;
  try {
    if (config.nats) {
      nats = await startNatsService({
        config: config.nats,
        lease: config.lease,
        store,
        record: (actor, action, detail) => registry.record(actor, action, detail),
        countActive: async () => (await registry.occupancy()).reduce((n, o) => n + o.leased, 0),
        log,
        metrics: metrics.registry,
        // The auth callout checks tokens exactly as the HTTP path does.
        callout: {
          authenticate: async (token) => {
            const s = await auth.service(`Bearer ${token}`);
            const exp = s.claims.exp;
            return {
              principal: s.principal,
              issuer: s.issuer,
              ...(typeof exp === 'number' ? { tokenExpiresAtMs: exp * 1000 } : {}),
            };
          },
          getLease: (id) => registry.getLease(id),
          record: (id, principal, key, expiresAt) => registry.recordCalloutUser(id, principal, key, expiresAt),
          pools: config.pools.map((p) => p.name),
        },
      });
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  if (nats) {
    const service = nats;
    onEnded = (ended) => service.revoke(ended);
    readiness.push(nats.ready);
    if (nats.calloutReady) readiness.push(nats.calloutReady);
  }
  const adminIssuer = config.issuers.find((i) => i.name === config.admin.issuer);
  metrics.watchReadiness(readiness);
  const app = await buildApp({
    registry,
    auth,
    ...(nats ? { credentials: nats.credentials } : {}),
    readiness,
    acquireLimiter: new RateLimiter(
      config.lease.acquiresPerSecond,
      config.lease.acquireBurst,
      opts.clock ?? systemClock,
    ),
    addressLimiter: new RateLimiter(
      config.server.perAddress.requestsPerSecond,
      config.server.perAddress.burst,
      opts.clock ?? systemClock,
    ),
    ...(config.server.trustProxy ? { trustProxy: config.server.trustProxy } : {}),
    ...(tls ? { tls } : {}),
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
    // A fleet rolling out connects by the hundred at once; beyond Node's default backlog (511) the
    // kernel drops SYNs and each client waits a second for its retransmit. The kernel caps it at
    // net.core.somaxconn.
    await app.listen({ host: config.server.host, port: config.server.port, backlog: LISTEN_BACKLOG });
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
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    reloadTls() {
      if (!config.server.tls) return false;
      reloadTls(app.server as HttpsServer, config.server.tls);
      return true;
    },
    async close() {
      clearInterval(sweeper);
      await app.close();
      await nats?.close();
      await store.close();
    },
  };
}
