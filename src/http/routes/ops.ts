/** Operations: liveness, readiness, metrics, the OpenAPI document. */
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.js';

export const opsRoutes =
  (deps: AppDeps): FastifyPluginAsync =>
  async (app) => {
    const hide = { hide: true };
    app.get('/healthz', { schema: hide }, async () => ({ status: 'ok' }));

    app.get('/readyz', { schema: hide }, async (_req, reply) => {
      const checks: Record<string, string> = {};
      let ok = true;
      await Promise.all(
        deps.readiness.map(async (c) => {
          try {
            await c.check();
            checks[c.name] = 'ok';
          } catch (e) {
            ok = false;
            checks[c.name] = (e as Error).message;
          }
        }),
      );
      if (!deps.credentials) checks.nats = 'not configured: no credentials are issued';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
    });

    app.get('/metrics', { schema: hide }, async (_req, reply) => {
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    });

    app.get('/openapi.json', { schema: hide }, async () => app.swagger());
  };
