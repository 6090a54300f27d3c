/**
 * buildApp: the HTTP face of the registry. Strict JSON in (no type coercion of bodies, unknown
 * fields refused, 64 KiB bodies), problem+json out, one error handler.
 */
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ClaimsMismatch, InvalidToken } from '../errors.js';
import type { RateLimiter } from '../registry/rate-limit.js';
import type { Registry } from '../registry/registry.js';
import { enforceAccess } from './access.js';
import { consoleRoutes, type ConsoleDeps } from './console.js';
import type { Metrics } from './metrics.js';
import type { AuthPort, CredentialsPort, ReadinessCheck } from './ports.js';
import { clientErrorHandler, errorHandler, problem, sendProblem } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { leaseRoutes } from './routes/leases.js';
import { opsRoutes } from './routes/ops.js';

export interface AppDeps {
  registry: Registry;
  auth: AuthPort;
  credentials?: CredentialsPort;
  readiness: ReadinessCheck[];
  metrics: Metrics;
  /** Limits acquires per principal. */
  acquireLimiter: RateLimiter;
  /** Limits requests to /v1 routes per client address. */
  addressLimiter: RateLimiter;
  ttlMs: number;
  maxClockSkewMs: number;
  /** Issuer names a pin may name. */
  issuerNames: string[];
  logger?: FastifyBaseLogger;
  /** The operator console at /ui/; absent or disabled: no /ui/ at all. */
  console?: Omit<ConsoleDeps, 'auth'>;
  /** PEM certificate and key: the listener speaks HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  /** Proxies whose X-Forwarded-For names the client (addresses or CIDRs). */
  trustProxy?: string[];
}

const BODY_LIMIT = 64 * 1024;

/**
 * Nothing is coerced: in a body "17" is not 17 and null is not 0; paths and query strings are
 * text, and their numbers are digit-string schemas (see schemas.ts), so `0x10` is not 16.
 */
function validator(): Ajv {
  return new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, coerceTypes: false });
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
    ...(deps.trustProxy ? { trustProxy: deps.trustProxy } : {}),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Long enough for a slow client, short enough that a stalled one cannot hold a socket forever.
    requestTimeout: 30_000,
    // Room for a 16 KiB bearer token, so the verifier answers it with a problem, not Node with 431.
    http: { maxHeaderSize: 32 * 1024 },
    routerOptions: { maxParamLength: 256 },
    clientErrorHandler,
    // Errors fastify raises before routing (a malformed URL) get the same problem+json.
    frameworkErrors: (err, req, reply) => {
      void errorHandler(err, req, reply);
    },
  });
  const ajv = validator();
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem('not_found', 404, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  // A POST without a body means an empty object, so `curl -X POST` works on renew and rotate.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && (req.method === 'POST' || req.method === 'PUT')) req.body = {};
  });
  // Every route's refused tokens, counted in one place, by the issuer they claimed.
  app.addHook('onError', async (_req, _reply, err) => {
    if (err instanceof InvalidToken) {
      deps.metrics.tokenRejections.inc({ issuer: err.issuer ?? 'none', reason: err.reason });
    } else if (err instanceof ClaimsMismatch) {
      deps.metrics.tokenRejections.inc({ issuer: err.issuer, reason: 'bound_claims' });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.requestSeconds.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'snowgate', version: '1', description: 'Snowflake node leases for authenticated workloads' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // Before the routes: its hook turns a console session into a bearer token before any route authenticates.
  if (deps.console?.config.enabled) await app.register(consoleRoutes, { ...deps.console, auth: deps.auth });
  // After the console's session hook, so a session is a bearer token by the time access is checked.
  enforceAccess(app, deps);
  await app.register(opsRoutes(deps));
  await app.register(leaseRoutes(deps));
  await app.register(adminRoutes(deps));
  return app;
}
