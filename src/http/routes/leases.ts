/** Service endpoints: grant, renew, release, pools, lineage (CONTRACT §4). */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { InvalidRequest } from '../../errors.js';
import type { Lease } from '../../registry/types.js';
import { decodeId, parseIdString } from '../../snowflake/codec.js';
import { LeaseResponse, LineageResponse } from '../../client/wire.js';
import { countFailure, serviceOf } from '../access.js';
import { grantLease } from '../grant.js';
import type { AppDeps } from '../app.js';
import { iso, layoutJson, leaseJson } from '../present.js';
import { AcquireBody, EmptyBody, LeaseParams, LineageParams, LineageQuery } from '../schemas.js';

/** Counts an operation's outcome: ok, or the problem code. */
export async function counted<T>(deps: AppDeps, op: string, fn: () => Promise<T>): Promise<T> {
  try {
    const r = await fn();
    deps.metrics.leaseOps.inc({ op, outcome: 'ok' });
    return r;
  } catch (e) {
    countFailure(deps.metrics, op, e);
    throw e;
  }
}

export const leaseRoutes =
  (deps: AppDeps): FastifyPluginAsync =>
  async (app) => {
    const { registry, credentials } = deps;
    const natsStatus = (ended: Lease[]) => {
      const nats = credentials?.revocationStatus(ended);
      return nats ? { nats } : {};
    };

    const body = (lease: Lease, now: number, seed?: string): LeaseResponse => {
      const pool = registry.pool(lease.pool);
      const nats = credentials && lease.natsPublicKey ? credentials.issue(lease, seed) : undefined;
      const json = leaseJson(lease, deps.ttlMs);
      // Credentials shorter than the lease (nats.credentialTtl) are renewed with it: at half their life.
      if (nats && nats.expiresAt < lease.expiresAt) {
        json.renewAfter = iso(Math.min(Date.parse(json.renewAfter), now + Math.floor((nats.expiresAt - now) / 2)));
      }
      return {
        lease: json,
        layout: layoutJson(pool),
        ...(nats
          ? {
              nats: {
                jwt: nats.jwt,
                expiresAt: iso(nats.expiresAt),
                servers: credentials!.servers,
                ...(nats.seed ? { seed: nats.seed, creds: nats.creds } : {}),
              },
            }
          : {}),
        now: iso(now),
        maxClockSkewMs: deps.maxClockSkewMs,
      };
    };

    app.post<{ Body: Static<typeof AcquireBody> }>(
      '/v1/leases',
      {
        config: { access: 'service', op: 'acquire' },
        schema: { summary: 'Lease a node', body: AcquireBody, response: { 201: LeaseResponse } },
      },
      async (req, reply) => {
        const grant = await counted(deps, 'acquire', () => grantLease(deps, serviceOf(req), req.body));
        const superseded = grant.g.superseded;
        return reply.code(201).send({
          ...body(grant.g.lease, grant.g.now, grant.seed),
          ...(superseded ? { superseded: { id: superseded.id, ...natsStatus([superseded]) } } : {}),
        });
      },
    );

    app.post<{ Params: Static<typeof LeaseParams> }>(
      '/v1/leases/:id/renew',
      {
        config: { access: 'service', op: 'renew' },
        schema: { summary: 'Renew a lease', params: LeaseParams, body: EmptyBody, response: { 200: LeaseResponse } },
      },
      async (req) => {
        const r = await counted(deps, 'renew', () => registry.renew(req.params.id, serviceOf(req).principal));
        return body(r.lease, r.now);
      },
    );

    app.delete<{ Params: Static<typeof LeaseParams> }>(
      '/v1/leases/:id',
      { config: { access: 'service', op: 'release' }, schema: { summary: 'Release a lease', params: LeaseParams } },
      async (req, reply) => {
        const lease = await counted(deps, 'release', () => registry.release(req.params.id, serviceOf(req).principal));
        // A release does not wait for the servers: it says whether they confirmed yet.
        const nats = natsStatus([lease]).nats;
        if (nats) void reply.header('snowgate-nats', nats);
        return reply.code(204).send();
      },
    );

    app.get('/v1/pools', { config: { access: 'any' }, schema: { summary: 'Pools and their occupancy' } }, async () => {
      return (await registry.occupancy()).map((o) => ({
        name: o.pool.name,
        layout: layoutJson(o.pool),
        nodes: { total: o.total, leased: o.leased, pinned: o.pinned, free: o.free },
      }));
    });

    app.get<{ Params: Static<typeof LineageParams>; Querystring: Static<typeof LineageQuery> }>(
      '/v1/lineage/:id',
      {
        config: { access: 'any' },
        schema: {
          summary: 'Who minted an ID',
          params: LineageParams,
          querystring: LineageQuery,
          response: { 200: LineageResponse },
        },
      },
      async (req): Promise<LineageResponse> => {
        const pool = registry.pool(req.query.pool ?? 'default');
        let f;
        try {
          f = decodeId(pool.layout, pool.epochMs, parseIdString(req.params.id));
        } catch (e) {
          throw new InvalidRequest(`id: ${(e as Error).message}`);
        }
        if (f.timestampMs > 8.64e15) throw new InvalidRequest('id: its timestamp is beyond any date');
        const lease = await registry.lineage(pool.name, f.node, f.timestampMs);
        return {
          id: req.params.id,
          pool: pool.name,
          timestamp: iso(f.timestampMs),
          node: f.node,
          sequence: f.sequence,
          lease: lease
            ? {
                id: lease.id,
                principal: lease.principal,
                instance: lease.instance ?? null,
                issuedAt: iso(lease.issuedAt),
                expiresAt: iso(lease.expiresAt),
                endedAt: lease.endedAt !== undefined ? iso(lease.endedAt) : null,
                notBefore: iso(lease.notBefore),
                natsPublicKey: lease.natsPublicKey ?? null,
              }
            : null,
        };
      },
    );
  };
