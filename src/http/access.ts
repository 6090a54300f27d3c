/**
 * Who may call each route, checked before anything else about the request: an unauthenticated
 * caller learns nothing of the API's shape (a bad body is 401 for them, not 400), the body of
 * an unauthenticated request is never parsed, and a service token never reaches an admin
 * route's handler. Every /v1 route declares its access; one that does not stops start-up.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimited, SnowgateError } from '../errors.js';
import type { Actor } from '../registry/types.js';
import type { RateLimiter } from '../registry/rate-limit.js';
import type { AuthPort, ServiceIdentity } from './ports.js';
import type { Metrics } from './metrics.js';

/** service: a workload; any: a workload, a viewer or an admin; viewer: read-only admin; admin. */
export type Access = 'service' | 'any' | 'viewer' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The lease operation the route counts in metrics, auth failures included. */
    op?: string;
  }
  interface FastifyRequest {
    service?: ServiceIdentity;
    actor?: Actor;
  }
}

export interface AccessDeps {
  auth: AuthPort;
  metrics: Metrics;
  /** Requests per client address to /v1 routes. */
  addressLimiter: RateLimiter;
}

export function enforceAccess(app: FastifyInstance, deps: AccessDeps): void {
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/') && route.config?.access === undefined) {
      throw new Error(`route ${route.method.toString()} ${route.url} declares no access`);
    }
  });
  app.addHook('onRequest', async (req) => {
    const { access, op } = req.routeOptions.config;
    if (access === undefined) return;
    try {
      const wait = deps.addressLimiter.take(req.ip);
      if (wait > 0) throw new RateLimited('too many requests from this address', wait);
      await authenticate(req, access, deps.auth);
    } catch (e) {
      if (op !== undefined) countFailure(deps.metrics, op, e);
      throw e;
    }
  });
}

async function authenticate(req: FastifyRequest, access: Access, auth: AuthPort): Promise<void> {
  const authorization = req.headers.authorization;
  if (access === 'service') req.service = await auth.service(authorization);
  else if (access === 'any') req.actor = await auth.any(authorization);
  else req.actor = await auth.admin(authorization, access);
}

export function countFailure(metrics: Metrics, op: string, e: unknown): void {
  metrics.leaseOps.inc({ op, outcome: e instanceof SnowgateError ? e.code : 'internal' });
}

/** The caller the access hook authenticated; only for routes that declared that access. */
export function serviceOf(req: FastifyRequest): ServiceIdentity {
  if (!req.service) throw new Error(`${req.routeOptions.url ?? req.url}: no service identity (access is not service)`);
  return req.service;
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Error(`${req.routeOptions.url ?? req.url}: no actor (access is service)`);
  return req.actor;
}
