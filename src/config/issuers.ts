/** Resolves one `issuers[]` entry: its kind, its preset's defaults, and the rules that keep strangers out. */
import { isLoopbackHost } from '../identity/loopback.js';
import { multiTenantPresetOf, mutableNamesProblem, PRESETS, type Preset } from '../identity/presets.js';
import { parseSubjectTemplate } from '../identity/subject.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_MS } from '../identity/token-policy.js';
import { parseDuration } from './duration.js';
import { ConfigError } from './error.js';
import type { IssuerFile } from './schema.js';
import type { IssuerConfig } from './types.js';

/** STS's global endpoint; regional ones are https://sts.REGION.amazonaws.com. */
export const DEFAULT_STS_ENDPOINT = 'https://sts.amazonaws.com';

export function checkUrl(url: string, key: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${key}: "${url}" is not a URL`);
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return u;
  throw new ConfigError(`${key}: must be https:// (http:// only for loopback addresses)`);
}

export function resolveIssuer(f: IssuerFile, i: number, poolNames: Set<string>): IssuerConfig {
  const key = `issuers[${i}]`;
  for (const claim of Object.keys(f.claims ?? {})) {
    if (claim === '' || claim === '/') throw new ConfigError(`${key}.claims: a claim name cannot be empty`);
  }
  for (const p of f.pools ?? []) {
    if (!poolNames.has(p)) throw new ConfigError(`${key}.pools: no pool named "${p}"`);
  }
  if (!f.audience) throw new ConfigError(`${key}.audience: required (the audience snowgate's tokens carry)`);
  if (f.subject !== undefined && f.subjectClaim !== undefined) {
    throw new ConfigError(`${key}.subject: give subject (a template) or subjectClaim, not both`);
  }
  if (f.subject !== undefined) {
    try {
      parseSubjectTemplate(f.subject);
    } catch (e) {
      throw new ConfigError(`${key}.subject: ${(e as Error).message}`);
    }
  }
  const maxTokenLifetimeMs =
    f.maxTokenLifetime === undefined ? DEFAULT_MAX_TOKEN_LIFETIME_MS : parseDuration(f.maxTokenLifetime)!;
  if (maxTokenLifetimeMs < 1000) throw new ConfigError(`${key}.maxTokenLifetime: must be at least 1s`);
  const common = {
    name: f.name,
    audience: f.audience,
    ...(f.subject !== undefined ? { subjectTemplate: f.subject } : {}),
    maxTokenLifetimeMs,
    ...(f.maxPrincipals !== undefined ? { maxPrincipals: f.maxPrincipals } : {}),
    ...(f.pools ? { pools: f.pools } : {}),
    dynamic: f.dynamic ?? true,
  };
  return f.kind === 'aws-iam' ? awsIam(f, key, common) : oidc(f, key, common);
}

type Common = Omit<IssuerConfig, 'issuer' | 'algorithms' | 'subjectClaim' | 'claims'>;

function oidc(f: IssuerFile, key: string, common: Common): IssuerConfig {
  const preset = f.preset === undefined ? undefined : PRESETS[f.preset];
  if (f.preset !== undefined && !preset) {
    throw new ConfigError(`${key}.preset: unknown preset "${f.preset}" (${Object.keys(PRESETS).join(', ')})`);
  }
  const issuer = f.issuer ?? preset?.issuer;
  if (!issuer) throw new ConfigError(`${key}.issuer: required`);
  const url = checkUrl(issuer, `${key}.issuer`);
  if (f.jwksUri) checkUrl(f.jwksUri, `${key}.jwksUri`);
  const problem = preset?.issuerProblem?.(url);
  if (problem) throw new ConfigError(`${key}.issuer: ${problem}`);
  const claims = { ...(f.claims ?? {}), ...(preset?.impliedClaims?.(url) ?? {}) };
  checkStrangersKeptOut(key, issuer, preset, f.claims ?? {});
  const instanceClaim = f.instanceClaim ?? preset?.instanceClaim;
  return {
    ...common,
    kind: 'oidc',
    issuer,
    algorithms: f.algorithms ?? preset?.algorithms ?? ['RS256', 'ES256'],
    ...(f.jwksUri ? { jwksUri: f.jwksUri } : {}),
    subjectClaim: f.subjectClaim ?? preset?.subjectClaim ?? 'sub',
    ...(instanceClaim !== undefined ? { instanceClaim } : {}),
    claims,
  };
}

/**
 * Anyone can get a token from a public issuer (any repository's workflow, any Google account):
 * without bound claims every one of them would be a principal, and with only names bound
 * (a repository) whoever registers that name after a rename or a deletion would be.
 */
function checkStrangersKeptOut(key: string, issuer: string, preset: Preset | undefined, claims: BoundClaims): void {
  const bound = Object.keys(claims);
  const publicName = multiTenantPresetOf(issuer);
  if (publicName !== undefined && bound.length === 0) {
    throw new ConfigError(`${key}.claims: required for ${publicName}, a public issuer anyone can get tokens from`);
  }
  const rules = preset ?? (publicName !== undefined ? PRESETS[publicName] : undefined);
  const problem = rules && mutableNamesProblem(rules, bound, publicName !== undefined);
  if (problem) throw new ConfigError(`${key}.claims: ${problem}`);
  // GitHub and GitLab send ids as strings; a YAML number would never match one.
  const ids = new Set(Object.values(rules?.mutableNames ?? {}));
  for (const [claim, value] of Object.entries(claims)) {
    const numbers = (Array.isArray(value) ? value : [value]).filter((v) => typeof v === 'number');
    if (ids.has(claim.replace(/^\//, '')) && numbers.length > 0) {
      throw new ConfigError(`${key}.claims.${claim}: its tokens carry ids as strings; quote it: '${numbers[0]}'`);
    }
  }
}

type BoundClaims = NonNullable<IssuerFile['claims']>;

function awsIam(f: IssuerFile, key: string, common: Common): IssuerConfig {
  for (const k of ['preset', 'algorithms', 'jwksUri'] as const) {
    if (f[k] !== undefined) throw new ConfigError(`${key}.${k}: not used by kind aws-iam (it takes no JWTs)`);
  }
  const issuer = f.issuer ?? DEFAULT_STS_ENDPOINT;
  const url = checkUrl(issuer, `${key}.issuer`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`${key}.issuer: the STS endpoint is an origin only, such as ${DEFAULT_STS_ENDPOINT}`);
  }
  return {
    ...common,
    kind: 'aws-iam',
    issuer: url.origin,
    algorithms: [],
    // arn: the role ARN of an assumed role (its session is the instance), or the user's ARN.
    subjectClaim: f.subjectClaim ?? 'arn',
    instanceClaim: f.instanceClaim ?? 'sessionName',
    claims: f.claims ?? {},
  };
}
