/**
 * The registry's answers (CONTRACT §4) as schemas: the server's routes serialise with them and
 * the client checks with them, so the two cannot drift apart. Times are RFC 3339 strings, IDs
 * decimal strings.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { UnexpectedResponseError } from './errors.js';

export const LayoutJson = Type.Object({
  epoch: Type.String(),
  timestampBits: Type.Integer(),
  nodeBits: Type.Integer(),
  sequenceBits: Type.Integer(),
});
export type LayoutJson = Static<typeof LayoutJson>;

export const PrincipalJson = Type.Object({ issuer: Type.String(), subject: Type.String() });
export type PrincipalJson = Static<typeof PrincipalJson>;

export const LeaseJson = Type.Object({
  id: Type.String({ minLength: 1 }),
  pool: Type.String(),
  node: Type.Integer({ minimum: 0 }),
  generation: Type.Integer(),
  principal: PrincipalJson,
  instance: Type.Optional(Type.String()),
  issuedAt: Type.String(),
  expiresAt: Type.String(),
  renewAfter: Type.String(),
  notBefore: Type.String(),
});
export type LeaseJson = Static<typeof LeaseJson>;

export const NatsCredentialsJson = Type.Object({
  jwt: Type.String(),
  expiresAt: Type.String(),
  servers: Type.Array(Type.String()),
  /** Only with the grant, and only when the client sent no natsPublicKey of its own. */
  seed: Type.Optional(Type.String()),
  creds: Type.Optional(Type.String()),
});
export type NatsCredentialsJson = Static<typeof NatsCredentialsJson>;

/** The body of a grant (201) and of a renewal (200). */
export const LeaseResponse = Type.Object({
  lease: LeaseJson,
  layout: LayoutJson,
  nats: Type.Optional(NatsCredentialsJson),
  /** A grant that superseded this principal's lease of the same instance: which, and whether NATS confirmed its revocation. */
  superseded: Type.Optional(
    Type.Object({
      id: Type.String(),
      nats: Type.Optional(Type.Union([Type.Literal('revoked'), Type.Literal('pending')])),
    }),
  ),
  /** The registry's clock when it answered: the fence counts from it, never from a local clock. */
  now: Type.String(),
  maxClockSkewMs: Type.Integer({ minimum: 0 }),
});
export type LeaseResponse = Static<typeof LeaseResponse>;

export const LineageLeaseJson = Type.Object({
  id: Type.String(),
  principal: PrincipalJson,
  instance: Type.Union([Type.String(), Type.Null()]),
  issuedAt: Type.String(),
  expiresAt: Type.String(),
  endedAt: Type.Union([Type.String(), Type.Null()]),
  /** The lease's floor: its IDs carry timestamps after it. */
  notBefore: Type.String(),
  natsPublicKey: Type.Union([Type.String(), Type.Null()]),
});
export type LineageLeaseJson = Static<typeof LineageLeaseJson>;

export const LineageResponse = Type.Object({
  id: Type.String(),
  pool: Type.String(),
  timestamp: Type.String(),
  node: Type.Integer(),
  sequence: Type.Integer(),
  lease: Type.Union([LineageLeaseJson, Type.Null()]),
});
export type LineageResponse = Static<typeof LineageResponse>;

export const PoolJson = Type.Object({
  name: Type.String(),
  layout: LayoutJson,
  nodes: Type.Object({ total: Type.Integer(), leased: Type.Integer(), pinned: Type.Integer(), free: Type.Integer() }),
});
export const PoolsResponse = Type.Array(PoolJson);
export type PoolJson = Static<typeof PoolJson>;

const TIMES = ['issuedAt', 'expiresAt', 'renewAfter', 'notBefore'] as const;

/** Schema errors as one line: where, and what was expected. */
function why(schema: TSchema, v: unknown): string {
  return [...Value.Errors(schema, v)]
    .slice(0, 3)
    .map((e) => `${e.instancePath || '/'} ${e.message}`)
    .join('; ');
}

/**
 * Refuses a lease answer the client could not schedule renewals or fence from, rather than
 * failing later. `now` and `maxClockSkewMs` are in every §4 body: no local stand-in is used.
 */
export function checkLeaseResponse(v: unknown): LeaseResponse {
  if (!Value.Check(LeaseResponse, v)) {
    throw new UnexpectedResponseError(`the registry answered without a usable lease: ${why(LeaseResponse, v)}`);
  }
  const bad = [
    ...TIMES.filter((k) => Number.isNaN(Date.parse(v.lease[k]))),
    ...(Number.isNaN(Date.parse(v.now)) ? ['now'] : []),
  ];
  if (bad.length > 0)
    throw new UnexpectedResponseError(`the registry answered a lease with bad times: ${bad.join(', ')}`);
  return v;
}

export function checkLineageResponse(v: unknown): LineageResponse {
  if (!Value.Check(LineageResponse, v)) {
    throw new UnexpectedResponseError(`the registry answered lineage in an unknown shape: ${why(LineageResponse, v)}`);
  }
  return v;
}

export function checkPoolsResponse(v: unknown): PoolJson[] {
  if (!Value.Check(PoolsResponse, v)) {
    throw new UnexpectedResponseError(`the registry answered pools in an unknown shape: ${why(PoolsResponse, v)}`);
  }
  return v;
}

/** The lease id of an answer, usable or not, so that even a grant the client refuses can be released. */
export function leaseIdOf(v: unknown): string | undefined {
  const id = (v as { lease?: { id?: unknown } } | undefined)?.lease?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
