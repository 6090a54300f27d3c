import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { validateTemplate } from '../nats/permissions.js';
import { DEFAULT_LAYOUT, layoutProblem, parseNodeRanges, nodeCount } from '../snowflake/layout.js';
import { parseDuration } from './duration.js';
import { ConfigError } from './error.js';
import { checkUrl, resolveIssuer } from './issuers.js';
import { ConfigSchema, type ConfigFile } from './schema.js';
import type { AdminConfig, Config, ConsoleConfig, IssuerConfig, PoolConfig } from './types.js';

export { ConfigError };

/** `nats.credentialTtl`: the lease's length by default; shorter JWTs are renewed with the lease. */
function credentialTtl(v: string | undefined, ttlMs: number, maxClockSkewMs: number): number {
  if (v === undefined) return ttlMs;
  const ms = duration(v, v, 'nats.credentialTtl');
  if (ms > ttlMs)
    throw new ConfigError('nats.credentialTtl: must be at most lease.ttl (a JWT never outlives its lease)');
  // Renewed at half its life: that half must leave room for the clock skew and a retry.
  if (ms < Math.max(2000, 4 * maxClockSkewMs)) {
    throw new ConfigError('nats.credentialTtl: must be at least 2s and 4 × lease.maxClockSkew');
  }
  return ms;
}

/**
 * `nats.authCallout` and `nats.readerTtl`: a reader's JWT lives at most readerTtl (default and
 * ceiling lease.ttl, the horizon revocations and key retirement count on).
 */
function authCallout(
  on: boolean | undefined,
  readerTtl: string | undefined,
  ttlMs: number,
): { authCallout?: { readerTtlMs: number } } {
  if (on !== true) {
    if (readerTtl !== undefined) throw new ConfigError('nats.readerTtl: only with nats.authCallout: true');
    return {};
  }
  const readerTtlMs = readerTtl === undefined ? ttlMs : duration(readerTtl, readerTtl, 'nats.readerTtl');
  if (readerTtlMs > ttlMs) throw new ConfigError('nats.readerTtl: must be at most lease.ttl');
  if (readerTtlMs < 1000) throw new ConfigError('nats.readerTtl: must be at least 1s');
  return { authCallout: { readerTtlMs } };
}

/** Reads, expands, validates and resolves a YAML or JSON configuration file. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON
  } catch (e) {
    throw new ConfigError(`${file} is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return resolveConfig(raw, env);
}

/** Expands `${VAR}` and `${VAR:-default}` inside string values only, so a value cannot add structure. */
export function expandEnv(v: unknown, env: NodeJS.ProcessEnv, at = ''): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => {
      const val = env[name];
      if (val !== undefined && val !== '') return val;
      if (def !== undefined) return def;
      throw new ConfigError(`${at || 'value'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => expandEnv(x, env, `${at}[${i}]`));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandEnv(x, env, at ? `${at}.${k}` : k)]));
  }
  return v;
}

function keyPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function schemaProblem(raw: unknown): string | undefined {
  const errors = [...Value.Errors(ConfigSchema, raw)];
  if (errors.length === 0) return undefined;
  // In a union, each branch's complaint about keys is noise when the kind itself matches none.
  const store = (raw as { store?: { kind?: unknown } } | null)?.store;
  if (store && typeof store === 'object' && store.kind !== 'sqlite' && store.kind !== 'postgres') {
    return `store.kind: must be sqlite or postgres, not ${JSON.stringify(store.kind)}`;
  }
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) {
    const names = (unknown.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    const where = keyPath(unknown.instancePath);
    return names.map((n) => `${where ? `${where}.` : ''}${n}: unknown key`).join('; ');
  }
  const e = errors.find((x) => x.keyword !== 'boolean' && x.keyword !== 'anyOf') ?? errors[0]!;
  const where = keyPath(e.instancePath) || 'the configuration';
  const hint = e.keyword === 'pattern' && e.instancePath.match(/ttl|Skew|Rotation/i) ? ' (a duration like "30s")' : '';
  return `${where}: ${e.message}${hint}`;
}

function duration(value: string | undefined, fallback: string, key: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined) throw new ConfigError(`${key}: "${value}" is not a duration like "30s"`);
  return ms;
}

function resolvePool(p: ConfigFile['pools'][number], i: number, nowMs: number): PoolConfig {
  const key = `pools[${i}]`;
  const layout = p.layout ?? DEFAULT_LAYOUT;
  const problem = layoutProblem(layout);
  if (problem) throw new ConfigError(`${key}.layout: ${problem}`);
  const epochMs = Date.parse(p.epoch);
  // The offset is required: a local-time epoch would differ between replicas in other time zones.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(p.epoch) || Number.isNaN(epochMs)) {
    throw new ConfigError(`${key}.epoch: "${p.epoch}" is not an RFC 3339 time with Z or an offset`);
  }
  if (epochMs > nowMs) throw new ConfigError(`${key}.epoch: ${p.epoch} is in the future`);
  const runsOut = epochMs + 2 ** layout.timestampBits;
  if (runsOut <= nowMs) {
    throw new ConfigError(
      `${key}.layout.timestampBits: ran out on ${new Date(runsOut).toISOString()}; no ID can be minted`,
    );
  }
  let nodes;
  try {
    nodes = parseNodeRanges(p.nodes ?? `0-${nodeCount(layout) - 1}`, layout);
  } catch (e) {
    throw new ConfigError(`${key}.nodes: ${(e as Error).message}`);
  }
  return { name: p.name, epochMs, layout, nodes };
}

function unique(names: string[], key: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new ConfigError(`${key}: the name "${n}" is used twice`);
    seen.add(n);
  }
}

function resolveServer(f: ConfigFile['server']): Config['server'] {
  for (const [i, p] of (f?.trustProxy ?? []).entries()) {
    // Addresses or CIDRs, as proxy-addr reads them; a name would never match a socket's address.
    if (!/^[0-9a-f.:]+(\/\d{1,3})?$/i.test(p))
      throw new ConfigError(`server.trustProxy[${i}]: "${p}" is not an address or CIDR`);
  }
  return {
    host: f?.host ?? '127.0.0.1',
    port: f?.port ?? 8080,
    ...(f?.tls ? { tls: { cert: path.resolve(f.tls.cert), key: path.resolve(f.tls.key) } } : {}),
    perAddress: {
      requestsPerSecond: f?.perAddress?.requestsPerSecond ?? 100,
      burst: f?.perAddress?.burst ?? 1000,
    },
    ...(f?.trustProxy ? { trustProxy: f.trustProxy } : {}),
  };
}

function resolveAdmin(f: ConfigFile['admin'], issuers: IssuerConfig[]): AdminConfig {
  const admin: AdminConfig = {
    ...(f?.bootstrapToken ? { bootstrapToken: f.bootstrapToken } : {}),
    ...(f?.issuer ? { issuer: f.issuer } : {}),
    roleClaim: f?.roleClaim ?? 'groups',
    adminRole: f?.adminRole ?? 'snowgate-admins',
    viewerRole: f?.viewerRole ?? 'snowgate-viewers',
    principals: f?.principals ?? [],
  };
  if (admin.bootstrapToken !== undefined && admin.bootstrapToken.length < 16) {
    throw new ConfigError('admin.bootstrapToken: must be at least 16 characters');
  }
  if (admin.bootstrapToken !== undefined && /\s/.test(admin.bootstrapToken)) {
    throw new ConfigError('admin.bootstrapToken: must not contain whitespace (a bearer token cannot)');
  }
  if (admin.issuer && !issuers.some((x) => x.name === admin.issuer)) {
    throw new ConfigError(`admin.issuer: no issuer named "${admin.issuer}"`);
  }
  if (admin.viewerRole === admin.adminRole) {
    throw new ConfigError('admin.viewerRole: must differ from admin.adminRole');
  }
  for (const [i, p] of admin.principals!.entries()) {
    if (!issuers.some((x) => x.name === p.issuer)) {
      throw new ConfigError(`admin.principals[${i}].issuer: no issuer named "${p.issuer}"`);
    }
  }
  return admin;
}

/** Validates a parsed configuration object and fills defaults. */
export function resolveConfig(input: unknown, env: NodeJS.ProcessEnv = process.env, nowMs = Date.now()): Config {
  const raw = expandEnv(input, env);
  const problem = schemaProblem(raw);
  if (problem) throw new ConfigError(problem);
  const f = raw as ConfigFile;

  const pools = f.pools.map((p, i) => resolvePool(p, i, nowMs));
  unique(
    pools.map((p) => p.name),
    'pools',
  );
  const poolNames = new Set(pools.map((p) => p.name));
  const issuers = (f.issuers ?? []).map((x, i) => resolveIssuer(x, i, poolNames));
  unique(
    issuers.map((x) => x.name),
    'issuers',
  );
  // Two entries for one `iss` would make which policy applies depend on list order.
  unique(
    issuers.map((x) => x.issuer),
    'issuers[].issuer',
  );

  const ttlMs = duration(f.lease?.ttl, '10m', 'lease.ttl');
  const maxClockSkewMs = duration(f.lease?.maxClockSkew, '2s', 'lease.maxClockSkew');
  if (ttlMs < 1000) throw new ConfigError('lease.ttl: must be at least 1s');
  // A lease is renewed at half its life; a week is long for a Snowflake node and keeps timers sane.
  if (ttlMs > 7 * 86_400_000) throw new ConfigError('lease.ttl: must be at most 7d');
  // A client fences itself maxClockSkew before expiry, so a shorter lease could never mint.
  if (ttlMs <= maxClockSkewMs) throw new ConfigError('lease.ttl: must be longer than lease.maxClockSkew');

  const admin = resolveAdmin(f.admin, issuers);
  for (const kind of ['publish', 'subscribe'] as const) {
    for (const [i, t] of (f.nats?.permissions?.[kind] ?? []).entries()) {
      try {
        validateTemplate(t);
      } catch (e) {
        throw new ConfigError(`nats.permissions.${kind}[${i}]: ${(e as Error).message}`);
      }
    }
  }

  const consoleConfig = resolveConsole(f, admin.issuer);

  const store = f.store ?? { kind: 'sqlite' as const, path: './data/snowgate.db' };
  return {
    server: resolveServer(f.server),
    store: store.kind === 'sqlite' ? { kind: 'sqlite', path: path.resolve(store.path) } : store,
    lease: {
      ttlMs,
      maxClockSkewMs,
      maxPerPrincipal: f.lease?.maxPerPrincipal ?? 64,
      acquiresPerSecond: f.lease?.acquiresPerSecond ?? 10,
      acquireBurst: f.lease?.acquireBurst ?? 100,
    },
    pools,
    issuers,
    admin,
    ...(f.nats
      ? {
          nats: {
            dir: path.resolve(f.nats.dir),
            servers: f.nats.servers,
            signingKeyRotationMs: duration(f.nats.signingKeyRotation, '24h', 'nats.signingKeyRotation'),
            credentialTtlMs: credentialTtl(f.nats.credentialTtl, ttlMs, maxClockSkewMs),
            keyEncryptionKeyFile: path.resolve(
              f.nats.keyEncryptionKeyFile ?? path.join(f.nats.dir, 'key-encryption.key'),
            ),
            permissions: {
              publish: f.nats.permissions?.publish ?? ['ids.{pool}.{node}.>'],
              subscribe: f.nats.permissions?.subscribe ?? ['ids.{pool}.>', '_INBOX.>'],
            },
            ...authCallout(f.nats.authCallout, f.nats.readerTtl, ttlMs),
          },
        }
      : {}),
    console: consoleConfig,
    log: { level: f.log?.level ?? 'info' },
  };
}

function resolveConsole(f: ConfigFile, adminIssuer: string | undefined): ConsoleConfig {
  const c = f.console;
  const sessionTtlMs = duration(c?.sessionTtl, '8h', 'console.sessionTtl');
  if (sessionTtlMs < 60_000) throw new ConfigError('console.sessionTtl: must be at least 1m');
  if (c?.oidc === undefined) return { enabled: c?.enabled ?? true, sessionTtlMs };
  // Sign-in hands the browser to admin.issuer and keeps only tokens that prove the admin role.
  if (adminIssuer === undefined) throw new ConfigError('console.oidc: needs admin.issuer, the issuer to sign in with');
  const { clientId, clientSecret, redirectUri, resource } = c.oidc;
  if (redirectUri !== undefined) {
    checkUrl(redirectUri, 'console.oidc.redirectUri');
    if (!new URL(redirectUri).pathname.endsWith('/ui/auth/callback')) {
      throw new ConfigError('console.oidc.redirectUri: must end in /ui/auth/callback');
    }
  }
  return {
    enabled: c.enabled ?? true,
    sessionTtlMs,
    oidc: {
      clientId,
      ...(clientSecret !== undefined ? { clientSecret } : {}),
      ...(redirectUri !== undefined ? { redirectUri } : {}),
      scope: c.oidc.scope ?? 'openid',
      ...(resource !== undefined ? { resource } : {}),
    },
  };
}
