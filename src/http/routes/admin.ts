/** Admin endpoints (CONTRACT §4): pins, leases, revocation, signing keys, audit. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { InvalidRequest, NotFound } from '../../errors.js';
import { actorOf } from '../access.js';
import type { AppDeps } from '../app.js';
import { adminLeaseJson, auditJson, mappingJson } from '../present.js';
import {
  AuditQuery,
  EmptyBody,
  LeaseParams,
  LeasesQuery,
  MappingBody,
  MappingParams,
  PoolQuery,
  PrincipalRevokeBody,
  RevokeBody,
} from '../schemas.js';

export const adminRoutes =
  (deps: AppDeps): FastifyPluginAsync =>
  async (app) => {
    const { registry } = deps;
    const knownIssuer = (name: string) => {
      if (!deps.issuerNames.includes(name)) throw new InvalidRequest(`issuer: no issuer named "${name}"`);
    };
    const nats = () => {
      if (!deps.credentials) throw new NotFound('NATS is not configured: this registry issues no credentials');
      return deps.credentials;
    };
    const tags = ['admin'];
    // Viewers read; only admins change anything.
    const viewer = { access: 'viewer' } as const;
    const admin = { access: 'admin' } as const;

    app.get<{ Querystring: Static<typeof PoolQuery> }>(
      '/v1/admin/mappings',
      { config: viewer, schema: { tags, summary: 'List pins', querystring: PoolQuery } },
      async (req) => {
        return (await registry.pins.list(req.query.pool)).map(mappingJson);
      },
    );

    app.put<{ Params: Static<typeof MappingParams>; Body: Static<typeof MappingBody> }>(
      '/v1/admin/mappings/:pool/:node',
      {
        config: admin,
        schema: { tags, summary: 'Pin a node to a principal', params: MappingParams, body: MappingBody },
      },
      async (req, reply) => {
        const actor = actorOf(req);
        knownIssuer(req.body.issuer);
        const { pool } = req.params;
        const node = Number(req.params.node);
        const principal = { issuer: req.body.issuer, subject: req.body.subject };
        const outcome = await registry.pins.put(pool, node, principal, req.body.note, actor);
        const pin = (await registry.pins.list(pool)).find((m) => m.node === node)!;
        return reply.code(outcome === 'created' ? 201 : 200).send(mappingJson(pin));
      },
    );

    app.delete<{ Params: Static<typeof MappingParams> }>(
      '/v1/admin/mappings/:pool/:node',
      { config: admin, schema: { tags, summary: 'Unpin a node', params: MappingParams } },
      async (req, reply) => {
        const actor = actorOf(req);
        await registry.pins.delete(req.params.pool, Number(req.params.node), actor);
        return reply.code(204).send();
      },
    );

    app.get<{ Querystring: Static<typeof LeasesQuery> }>(
      '/v1/admin/leases',
      { config: viewer, schema: { tags, summary: 'List leases', querystring: LeasesQuery } },
      async (req) => {
        if (req.query.pool !== undefined) registry.pool(req.query.pool);
        const { leases, now } = await registry.listLeases(req.query);
        return leases.map((l) => adminLeaseJson(l, deps.ttlMs, now));
      },
    );

    app.post<{ Params: Static<typeof LeaseParams>; Body: Static<typeof RevokeBody> }>(
      '/v1/admin/leases/:id/revoke',
      { config: admin, schema: { tags, summary: 'End a lease now', params: LeaseParams, body: RevokeBody } },
      async (req) => {
        const actor = actorOf(req);
        const lease = await registry.revoke(req.params.id, actor, req.body.reason);
        // The revocation waited (a little) for the servers: say whether they confirmed it.
        const nats = deps.credentials?.revocationStatus([lease]);
        return { ...adminLeaseJson(lease, deps.ttlMs, Date.now()), ...(nats ? { nats } : {}) };
      },
    );

    app.post<{ Body: Static<typeof PrincipalRevokeBody> }>(
      '/v1/admin/principals/revoke',
      { config: admin, schema: { tags, summary: 'End every lease of a principal', body: PrincipalRevokeBody } },
      async (req) => {
        const actor = actorOf(req);
        knownIssuer(req.body.issuer);
        const ended = await registry.revokePrincipal(
          { issuer: req.body.issuer, subject: req.body.subject },
          actor,
          req.body.reason,
        );
        // As for one lease: say whether the servers confirmed the revocations.
        const nats = deps.credentials?.revocationStatus(ended);
        return { revoked: ended.length, ...(nats ? { nats } : {}) };
      },
    );

    app.get('/v1/admin/keys', { config: viewer, schema: { tags, summary: 'NATS signing keys' } }, async () => {
      return nats().keys();
    });

    app.post(
      '/v1/admin/keys/rotate',
      { config: admin, schema: { tags, summary: 'Rotate the NATS signing key now', body: EmptyBody } },
      async (req) => {
        const actor = actorOf(req);
        return nats().rotate(actor);
      },
    );

    app.get<{ Querystring: Static<typeof AuditQuery> }>(
      '/v1/admin/audit',
      { config: viewer, schema: { tags, summary: 'The audit log, oldest first', querystring: AuditQuery } },
      async (req) => {
        return (await registry.listAudit(Number(req.query.after ?? 0), Number(req.query.limit ?? 100))).map(auditJson);
      },
    );
  };
