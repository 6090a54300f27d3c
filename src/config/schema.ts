/**
 * The configuration file's schema (CONTRACT §3). Every object refuses unknown keys, so a typo
 * such as `tll` is an error naming the key rather than a silently ignored setting.
 */
import Type, { type Static } from 'typebox';
import { DURATION_PATTERN } from './duration.js';

const strict = { additionalProperties: false } as const;
const Duration = Type.String({ pattern: DURATION_PATTERN, description: 'a duration: "250ms", "30s", "10m", "1h"' });
const Name = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'letters, digits, _ and -' });

export const ServerSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    tls: Type.Optional(
      Type.Object({ cert: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) }, strict),
    ),
    perAddress: Type.Optional(
      Type.Object(
        {
          requestsPerSecond: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
          burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
        },
        strict,
      ),
    ),
    trustProxy: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  },
  strict,
);

export const StoreSchema = Type.Union([
  Type.Object({ kind: Type.Literal('sqlite'), path: Type.String({ minLength: 1 }) }, strict),
  Type.Object({ kind: Type.Literal('postgres'), url: Type.String({ minLength: 1 }) }, strict),
]);

export const LeaseSchema = Type.Object(
  {
    ttl: Type.Optional(Duration),
    maxClockSkew: Type.Optional(Duration),
    maxPerPrincipal: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    acquiresPerSecond: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
    acquireBurst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  strict,
);

export const PoolSchema = Type.Object(
  {
    name: Name,
    epoch: Type.String({ minLength: 1 }),
    layout: Type.Optional(
      Type.Object(
        {
          timestampBits: Type.Integer({ minimum: 1, maximum: 62 }),
          nodeBits: Type.Integer({ minimum: 1, maximum: 30 }),
          sequenceBits: Type.Integer({ minimum: 0, maximum: 61 }),
        },
        strict,
      ),
    ),
    nodes: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
);

const ClaimValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const IssuerSchema = Type.Object(
  {
    name: Name,
    kind: Type.Optional(Type.Union([Type.Literal('oidc'), Type.Literal('aws-iam')])),
    issuer: Type.Optional(Type.String({ minLength: 1 })),
    audience: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    algorithms: Type.Optional(
      Type.Array(Type.String({ pattern: '^(RS|PS|ES)(256|384|512)$|^EdDSA$' }), { minItems: 1 }),
    ),
    jwksUri: Type.Optional(Type.String({ minLength: 1 })),
    subjectClaim: Type.Optional(Type.String({ minLength: 1 })),
    subject: Type.Optional(Type.String({ minLength: 1, description: 'a template of claims: "{sub}@{tid}"' })),
    instanceClaim: Type.Optional(Type.String({ minLength: 1 })),
    maxTokenLifetime: Type.Optional(Duration),
    maxPrincipals: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    claims: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.Union([ClaimValue, Type.Array(ClaimValue)]))),
    preset: Type.Optional(Type.String({ minLength: 1 })),
    pools: Type.Optional(Type.Array(Name)),
    dynamic: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const AdminSchema = Type.Object(
  {
    bootstrapToken: Type.Optional(Type.String()),
    issuer: Type.Optional(Name),
    roleClaim: Type.Optional(Type.String({ minLength: 1 })),
    adminRole: Type.Optional(Type.String({ minLength: 1 })),
    viewerRole: Type.Optional(Type.String({ minLength: 1 })),
    principals: Type.Optional(
      Type.Array(
        Type.Object(
          {
            issuer: Name,
            subject: Type.String({ minLength: 1 }),
            role: Type.Union([Type.Literal('admin'), Type.Literal('viewer')]),
          },
          strict,
        ),
      ),
    ),
  },
  strict,
);

export const NatsSchema = Type.Object(
  {
    dir: Type.String({ minLength: 1 }),
    servers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    signingKeyRotation: Type.Optional(Duration),
    credentialTtl: Type.Optional(Duration),
    keyEncryptionKeyFile: Type.Optional(Type.String({ minLength: 1 })),
    authCallout: Type.Optional(Type.Boolean()),
    readerTtl: Type.Optional(Duration),
    permissions: Type.Optional(
      Type.Object(
        {
          publish: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
          subscribe: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const ConsoleSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    oidc: Type.Optional(
      Type.Object(
        {
          clientId: Type.String({ minLength: 1 }),
          clientSecret: Type.Optional(Type.String({ minLength: 1 })),
          redirectUri: Type.Optional(Type.String({ minLength: 1 })),
          scope: Type.Optional(Type.String({ minLength: 1 })),
          resource: Type.Optional(Type.String({ minLength: 1 })),
        },
        strict,
      ),
    ),
    sessionTtl: Type.Optional(Duration),
  },
  strict,
);

export const LogSchema = Type.Object(
  {
    level: Type.Optional(
      Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    ),
  },
  strict,
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Optional(ServerSchema),
    store: Type.Optional(StoreSchema),
    lease: Type.Optional(LeaseSchema),
    pools: Type.Array(PoolSchema, { minItems: 1 }),
    issuers: Type.Optional(Type.Array(IssuerSchema)),
    admin: Type.Optional(AdminSchema),
    nats: Type.Optional(NatsSchema),
    console: Type.Optional(ConsoleSchema),
    log: Type.Optional(LogSchema),
  },
  strict,
);

export type ConfigFile = Static<typeof ConfigSchema>;
export type IssuerFile = Static<typeof IssuerSchema>;
