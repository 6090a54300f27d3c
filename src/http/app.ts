/**
 * buildApp: the HTTP face of the registry. Strict JSON in (no type coercion of bodies, unknown
 * fields refused, 64 KiB bodies), problem+json out, one error handler.
 */
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { InvalidToken } from '../errors.js';
import type { RateLimiter } from '../registry/rate-limit.js';
import type { Registry } from '../registry/registry.js';
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
  ttlMs: number;
  maxClockSkewMs: number;
  /** Issuer names a pin may name. */
  issuerNames: string[];
  logger?: FastifyBaseLogger;
  /** The operator console at /ui/; absent or disabled: no /ui/ at all. */
  console?: Omit<ConsoleDeps, 'auth'>;
}

const BODY_LIMIT = 64 * 1024;

function validators() {
  const common = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false } as const;
  // Bodies are JSON: "17" is not 17 and null is not 0. Paths and query strings are text: coerce them.
  const body = new Ajv({ ...common, coerceTypes: false });
  const text = new Ajv({ ...common, coerceTypes: true });
  return { body, text };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Long enough for a slow client, short enough that a stalled one cannot hold a socket forever.
    requestTimeout: 30_000,
    // Room for a 16 KiB bearer token, so the verifier answers it with a problem, not Node with 431.
    http: { maxHeaderSize: 32 * 1024 },
    maxParamLength: 256,
    clientErrorHandler,
    // Errors fastify raises before routing (a malformed URL) get the same problem+json.
    frameworkErrors: (err, req, reply) => {
      void errorHandler(err, req, reply);
    },
  });
  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.text).compile(schema));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem('not_found', 404, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  // A POST without a body means an empty object, so `curl -X POST` works on renew and rotate.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && (req.method === 'POST' || req.method === 'PUT')) req.body = {};
  });
  // Every route's token failures, counted in one place.
  app.addHook('onError', async (_req, _reply, err) => {
    if (err instanceof InvalidToken) deps.metrics.tokenRejections.inc({ reason: err.reason });
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
  await app.register(opsRoutes(deps));
  await app.register(leaseRoutes(deps));
  await app.register(adminRoutes(deps));
  return app;
}
