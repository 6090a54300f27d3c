/** Request schemas of the HTTP API (CONTRACT §4). The same schemas validate and document (/openapi.json). */
import Type from 'typebox';

const strict = { additionalProperties: false } as const;
export const PoolName = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
export const IssuerName = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
// Any text but NUL, which PostgreSQL cannot store.
export const Subject = Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\u0000]+$' });
export const Instance = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' });
export const NodeNumber = Type.Integer({ minimum: 0, maximum: 2 ** 30 });
/**
 * A number in a path or a query string: plain decimal digits only. Coercing text to a number
 * would read `0x10` as 16 and `1e2` as 100, so an admin's typo would pin some other node.
 */
const digits = (pattern: string, description: string) => Type.String({ pattern, description });
const NodeParam = digits('^[0-9]{1,10}$', 'a node number, in decimal digits');
export const NatsUserKey = Type.String({ pattern: '^U[A-Z2-7]{55}$', description: 'a NATS user public key' });
export const Reason = Type.String({ maxLength: 1024, pattern: '^[^\\u0000]*$' });
// Not a UUID pattern: an unknown id of any shape is a 404, as the contract says.
const LeaseId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000]+$' });

export const AcquireBody = Type.Object(
  {
    pool: Type.Optional(PoolName),
    instance: Type.Optional(Instance),
    node: Type.Optional(NodeNumber),
    natsPublicKey: Type.Optional(NatsUserKey),
  },
  strict,
);

export const LeaseParams = Type.Object({ id: LeaseId }, strict);
export const EmptyBody = Type.Object({}, strict);

export const LineageParams = Type.Object({ id: Type.String({ pattern: '^\\d{1,20}$' }) }, strict);
export const LineageQuery = Type.Object({ pool: Type.Optional(PoolName) }, strict);

export const PoolQuery = Type.Object({ pool: Type.Optional(PoolName) }, strict);
export const MappingParams = Type.Object({ pool: PoolName, node: NodeParam }, strict);
export const MappingBody = Type.Object({ issuer: IssuerName, subject: Subject, note: Type.Optional(Reason) }, strict);

export const LeasesQuery = Type.Object(
  {
    pool: Type.Optional(PoolName),
    issuer: Type.Optional(IssuerName),
    subject: Type.Optional(Subject),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('ended')])),
  },
  strict,
);
export const RevokeBody = Type.Object({ reason: Type.Optional(Reason) }, strict);
export const PrincipalRevokeBody = Type.Object(
  { issuer: IssuerName, subject: Subject, reason: Type.Optional(Reason) },
  strict,
);
export const AuditQuery = Type.Object(
  {
    // Up to 15 digits: every value is a safe integer.
    after: Type.Optional(digits('^[0-9]{1,15}$', 'an audit entry id, in decimal digits')),
    limit: Type.Optional(digits('^(1000|[1-9][0-9]{0,2})$', '1 to 1000, in decimal digits')),
  },
  strict,
);
