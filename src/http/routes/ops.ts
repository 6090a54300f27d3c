/** Operations: liveness, readiness, metrics, the OpenAPI document. */
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.js';

export const opsRoutes =
  (deps: AppDeps): FastifyPluginAsync =>
  async (app) => {
    const hide = { hide: true };
    app.get('/healthz', { schema: hide }, async () => ({ status: 'ok' }));

    app.get('/readyz', { schema: hide }, async (req, reply) => {
      const checks: Record<string, string> = {};
      const failed: Record<string, string> = {};
      await Promise.all(
        deps.readiness.map(async (c) => {
          try {
            await c.check();
            checks[c.name] = 'ok';
          } catch (e) {
            failed[c.name] = (e as Error).message;
          }
        }),
      );
      const ok = Object.keys(failed).length === 0;
      // A failure's text can name database hosts and ports: only an admin reads it; others see that it failed.
      const admin =
        !ok && req.headers.authorization !== undefined
          ? await deps.auth.admin(req.headers.authorization).then(
              () => true,
              () => false,
            )
          : false;
      for (const [name, message] of Object.entries(failed)) {
        checks[name] = admin ? message : 'failing';
        req.log.debug({ check: name, reason: message }, 'readiness check failed');
      }
      if (!deps.credentials) checks.nats = 'not configured: no credentials are issued';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
    });

    app.get('/metrics', { schema: hide }, async (_req, reply) => {
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    });

    app.get('/openapi.json', { schema: hide }, async () => app.swagger());
  };
