/** The registry's HTTP app in process, on an in-memory SQLite store, with a test issuer: for app.inject(). */
import type { FastifyInstance } from 'fastify';
import { systemClock } from '../../src/clock.js';
import type { AdminConfig, IssuerConfig } from '../../src/config/types.js';
import { buildApp } from '../../src/http/app.js';
import { Metrics } from '../../src/http/metrics.js';
import { Authenticator } from '../../src/identity/authenticator.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { RateLimiter } from '../../src/registry/rate-limit.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { startTestIssuer, type TestIssuer } from '../identity/test-issuer.js';
import { pool } from '../registry/fixture.js';

export const BOOTSTRAP = 'bootstrap-admin-token-0123456789';

export interface TestApp {
  app: FastifyInstance;
  idp: TestIssuer;
  registry: Registry;
  store: SqliteStore;
  metrics: Metrics;
  /** A token of the test issuer for this subject, with these extra claims. */
  token(sub: string, claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  issuer?: Partial<IssuerConfig>;
  admin?: Partial<AdminConfig>;
  /** Requests per second per address (default 0: no limit) and burst. */
  perAddress?: [number, number];
  nodes?: string;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const idp = await startTestIssuer();
  const store = new SqliteStore(':memory:');
  const lease = { ttlMs: 60_000, maxClockSkewMs: 1000, maxPerPrincipal: 4 };
  const registry = new Registry({ store, pools: [pool('default', opts.nodes ?? '0-15')], lease });
  const issuer: IssuerConfig = {
    name: 'corp',
    issuer: idp.issuer,
    audience: ['snowgate'],
    algorithms: ['RS256', 'ES256'],
    jwksUri: idp.jwksUri,
    subjectClaim: 'sub',
    claims: {},
    dynamic: true,
    ...opts.issuer,
  };
  const verifier = new TokenVerifier([issuer], { clockToleranceMs: 1000 });
  const admin: AdminConfig = {
    bootstrapToken: BOOTSTRAP,
    issuer: 'corp',
    roleClaim: 'groups',
    adminRole: 'snowgate-admins',
    viewerRole: 'snowgate-viewers',
    ...opts.admin,
  };
  const metrics = new Metrics(() => registry.occupancy());
  const [perSecond, burst] = opts.perAddress ?? [0, 1];
  const app = await buildApp({
    registry,
    auth: new Authenticator(verifier, admin),
    readiness: [{ name: 'store', check: () => store.ping() }],
    metrics,
    acquireLimiter: new RateLimiter(0, 1, systemClock),
    addressLimiter: new RateLimiter(perSecond, burst, systemClock),
    ttlMs: lease.ttlMs,
    maxClockSkewMs: lease.maxClockSkewMs,
    issuerNames: ['corp'],
  });
  await app.ready();
  return {
    app,
    idp,
    registry,
    store,
    metrics,
    token: (sub, claims) => idp.mint({ sub, ...(claims ? { claims } : {}) }),
    async close() {
      await app.close();
      await store.close();
      await idp.close();
    },
  };
}

/** `Authorization: Bearer <token>` headers, or none. */
export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
