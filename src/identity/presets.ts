/**
 * Defaults for well-known token issuers, fitted to the tokens each really issues. A preset
 * fills only what the config leaves out; the issuer URL stays required where it is per
 * cluster, tenant or account. Each one's claim shape is in config/snowgate.example.yaml.
 */
export interface Preset {
  issuer?: string;
  algorithms: string[];
  subjectClaim: string;
  /** The claim whose value is a lease's default instance, so a restart with it supersedes. */
  instanceClaim?: string;
  /**
   * The issuer is public and shared: anyone (any repository, project or Google account) can get
   * a token from it with whatever audience they ask for, so issuer and audience alone admit
   * strangers. The config loader refuses such an issuer unless it binds `claims` that narrow it
   * to the operator's own workloads (a repository, a project path, a service account).
   */
  multiTenant: boolean;
  /**
   * Claims holding names that can change hands (a repository renamed, or deleted and then
   * created again by someone else), each with the immutable id claim that names the same thing.
   * A config binding names needs to bind one of the ids too.
   */
  mutableNames?: Readonly<Record<string, string>>;
  /** Why an issuer URL cannot be this provider's, or undefined when it fits. */
  issuerProblem?: (issuer: URL) => string | undefined;
  /** Bound claims that follow from the issuer URL (Entra ID's tenant). */
  impliedClaims?: (issuer: URL) => Record<string, string>;
}

const ENTRA_TENANT = /^\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\/v2\.0)?\/?$/i;

const kubernetes: Preset = {
  algorithms: ['RS256', 'ES256'],
  subjectClaim: 'sub', // system:serviceaccount:NAMESPACE:NAME
  // A pod restarted in place keeps its name and supersedes its own lease; a new replica,
  // with a new name, gets a lease of its own.
  instanceClaim: '/kubernetes.io/pod/name',
  multiTenant: false,
};

export const PRESETS: Record<string, Preset> = {
  kubernetes,
  eks: { ...kubernetes, algorithms: ['RS256'] },
  // Any workflow of any repository on github.com can ask for a token with any audience.
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com',
    algorithms: ['RS256'],
    subjectClaim: 'sub', // repo:OWNER/REPO:ref:refs/heads/main, :environment:NAME, :pull_request
    multiTenant: true,
    mutableNames: {
      repository: 'repository_id',
      repository_owner: 'repository_owner_id',
      sub: 'repository_id',
      actor: 'actor_id',
    },
  },
  // Any CI job of any project on gitlab.com (or on a self-hosted instance, with its own issuer)
  // can ask for an id_token with any audience.
  gitlab: {
    issuer: 'https://gitlab.com',
    algorithms: ['RS256'],
    subjectClaim: 'sub', // project_path:GROUP/PROJECT:ref_type:branch:ref:main
    multiTenant: true,
    mutableNames: {
      project_path: 'project_id',
      namespace_path: 'namespace_id',
      sub: 'project_id',
      user_login: 'user_id',
    },
  },
  // Any Google account or any project's service account can get an ID token with any audience.
  // sub is the account's numeric id; email is bound together with email_verified.
  google: { issuer: 'https://accounts.google.com', algorithms: ['RS256'], subjectClaim: 'sub', multiTenant: true },
  // Entra ID: iss is https://login.microsoftonline.com/TENANT/v2.0 (v1: https://sts.windows.net/TENANT/),
  // so one tenant only, and its tid is bound as well. sub is pairwise (per application) but
  // stable for one caller of snowgate's API; `subjectClaim: oid` keys principals by the object
  // id the Azure portal shows instead.
  azure: {
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    multiTenant: false,
    issuerProblem: (u) =>
      ENTRA_TENANT.test(u.pathname)
        ? undefined
        : 'an Entra ID issuer names one tenant by its id: https://login.microsoftonline.com/TENANT-ID/v2.0 (not common, organizations or consumers)',
    impliedClaims: (u) => ({ tid: ENTRA_TENANT.exec(u.pathname)![1]!.toLowerCase() }),
  },
  // Okta custom authorization servers (default is one): client-credentials access tokens carry
  // sub = cid = the client id, and scp, the granted scopes.
  okta: {
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    multiTenant: false,
    issuerProblem: (u) =>
      /^\/oauth2\/[^/]+\/?$/.test(u.pathname)
        ? undefined
        : "an Okta issuer is a custom authorization server, https://DOMAIN/oauth2/SERVER-ID (or /oauth2/default); the org server's access tokens are for Okta's own APIs",
  },
  // AWS STS outbound web identity federation (GetWebIdentityToken): iss is per account,
  // sub the role ARN; AWS's own claims sit under "https://sts.amazonaws.com/".
  'aws-sts': { algorithms: ['RS256', 'ES384'], subjectClaim: 'sub', multiTenant: false },
};
// The name earlier configurations used.
PRESETS.aws = PRESETS['aws-sts']!;

/**
 * The name of the public multi-tenant preset whose issuer this is, if any: for a config that
 * names such an issuer by URL without its preset, which is no less open to strangers.
 */
export function multiTenantPresetOf(issuer: string): string | undefined {
  const key = comparable(issuer);
  for (const [name, preset] of Object.entries(PRESETS)) {
    if (preset.multiTenant && preset.issuer !== undefined && comparable(preset.issuer) === key) return name;
  }
  return undefined;
}

/**
 * Why these bound claims trust a name that can change hands, or undefined. A GitHub repository
 * can be renamed, or deleted and its name registered again by anyone; its id never moves. On
 * a public issuer an id is needed even when no name is bound: `environment: prod` alone would
 * admit the prod environment of every repository on github.com.
 */
export function mutableNamesProblem(preset: Preset, bound: readonly string[], isPublic: boolean): string | undefined {
  const names = preset.mutableNames;
  if (!names) return undefined;
  const keys = bound.map((k) => (/^\/[^/]+$/.test(k) ? k.slice(1) : k));
  const ids = [...new Set(Object.values(names))];
  if (keys.some((k) => ids.includes(k))) return undefined;
  const mutable = keys.filter((k) => Object.hasOwn(names, k));
  if (mutable.length === 0 && !isPublic) return undefined;
  const what = mutable.length > 0 ? `${mutable.join(', ')} can change hands` : 'none of them is an immutable id';
  const want = [...new Set(mutable.map((k) => names[k]!))];
  return `${what}; bind ${(want.length > 0 ? want : ids).join(' or ')} as well (immutable ids: ${ids.join(', ')})`;
}

/** Case of scheme and host and a trailing slash do not make another issuer worth trusting more. */
function comparable(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}
