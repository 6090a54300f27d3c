import type { Layout, NodeRanges } from '../snowflake/layout.js';

/** The configuration after validation: durations in milliseconds, ranges parsed, defaults filled. */
export interface Config {
  server: { host: string; port: number };
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  lease: LeaseConfig;
  pools: PoolConfig[];
  issuers: IssuerConfig[];
  admin: AdminConfig;
  nats?: NatsConfig;
  console: ConsoleConfig;
  log: { level: string };
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
  /** Must equal the token's `iss` exactly. */
  issuer: string;
  audience: string[];
  algorithms: string[];
  jwksUri?: string;
  subjectClaim: string;
  /** Bound claims: every one must match (exact values or `*` globs; `/`-keys are JSON pointers). */
  claims: Record<string, ClaimValue | ClaimValue[]>;
  /** Pools this issuer's principals may lease in; undefined means all. */
  pools?: string[];
  /** false: pinned nodes only. */
  dynamic: boolean;
}

export interface AdminConfig {
  bootstrapToken?: string;
  issuer?: string;
  roleClaim: string;
  adminRole: string;
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
