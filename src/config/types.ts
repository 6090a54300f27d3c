import type { Layout, NodeRanges } from '../snowflake/layout.js';

/** The configuration after validation: durations in milliseconds, ranges parsed, defaults filled. */
export interface Config {
  server: ServerConfig;
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  lease: LeaseConfig;
  pools: PoolConfig[];
  issuers: IssuerConfig[];
  admin: AdminConfig;
  nats?: NatsConfig;
  console: ConsoleConfig;
  log: { level: string };
}

export interface ServerConfig {
  host: string;
  port: number;
  /** PEM files, read at start and again on SIGHUP. */
  tls?: { cert: string; key: string };
  /** Requests to /v1 one client address may make per second (token bucket); 0: no limit. */
  perAddress: { requestsPerSecond: number; burst: number };
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For names the client address. */
  trustProxy?: string[];
}

export interface LeaseConfig {
  ttlMs: number;
  maxClockSkewMs: number;
  maxPerPrincipal: number;
  /** Grants one principal may ask for per second, per registry process; 0: no limit. */
  acquiresPerSecond: number;
  acquireBurst: number;
}

export interface PoolConfig {
  name: string;
  epochMs: number;
  layout: Layout;
  nodes: NodeRanges;
}

export type ClaimValue = string | number | boolean;

export interface IssuerConfig {
  /** The principal's issuer name. */
  name: string;
  /** oidc (the default): JWT bearer tokens. aws-iam: signed sts:GetCallerIdentity requests. */
  kind?: 'oidc' | 'aws-iam';
  /** Must equal the token's `iss` exactly; for aws-iam, the STS endpoint the requests must be for. */
  issuer: string;
  /** The token's aud must hold one; for aws-iam, the signed X-Snowgate-Server-ID header must be one. */
  audience: string[];
  algorithms: string[];
  jwksUri?: string;
  subjectClaim: string;
  /** Instead of subjectClaim, a template of claims where one alone is not unique: "{sub}@{tid}". */
  subjectTemplate?: string;
  /** The claim whose value is a lease's instance when the request names none. */
  instanceClaim?: string;
  /** Longest lifetime (exp minus iat) a token may have; default 24 h. */
  maxTokenLifetimeMs?: number;
  /** Most distinct principals of this issuer that may hold leases in one pool at once. */
  maxPrincipals?: number;
  /** Bound claims: every one must match (exact values or `*` globs; `/`-keys are JSON pointers). */
  claims: Record<string, ClaimValue | ClaimValue[]>;
  /** Pools this issuer's principals may lease in; undefined means all. */
  pools?: string[];
  /** false: pinned nodes only. */
  dynamic: boolean;
}

export type AdminRole = 'admin' | 'viewer';

export interface AdminConfig {
  bootstrapToken?: string;
  issuer?: string;
  roleClaim: string;
  adminRole: string;
  /** The role claim value that makes a token of the admin issuer a viewer: read-only admin routes. */
  viewerRole?: string;
  /** Principals of any issuer with a role, whatever their token's claims say. */
  principals?: Array<{ issuer: string; subject: string; role: AdminRole }>;
}

export interface NatsConfig {
  dir: string;
  servers: string[];
  signingKeyRotationMs: number;
  /** User JWTs end this long after issue at the latest (renewed with the lease); at most lease.ttl. */
  credentialTtlMs: number;
  /** Absolute. Seals the signing-key seeds in the store; DIR/key-encryption.key by default. */
  keyEncryptionKeyFile: string;
  permissions: { publish: string[]; subscribe: string[] };
  /** `nats.authCallout: true`: serve answers nats-server's auth callout (CONTRACT §8). */
  authCallout?: { readerTtlMs: number };
}

/** The operator console at /ui. */
export interface ConsoleConfig {
  enabled: boolean;
  /** Sign-in through the admin issuer (authorization code + PKCE); absent: bootstrap token only. */
  oidc?: ConsoleOidcConfig;
  /** A session ends after this long, or when its token expires if that is sooner. */
  sessionTtlMs: number;
}

export interface ConsoleOidcConfig {
  clientId: string;
  /** Absent: a public client, PKCE only. */
  clientSecret?: string;
  /** Absent: `/ui/auth/callback` on the scheme and host the browser used. */
  redirectUri?: string;
  scope: string;
  /** An RFC 8707 resource indicator, for issuers that pick the access token's audience by it. */
  resource?: string;
}
