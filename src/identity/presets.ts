/**
 * Defaults for well-known token issuers. A preset fills only what the config leaves out; the
 * issuer URL stays required where it is per cluster, tenant or account.
 */
export interface Preset {
  issuer?: string;
  algorithms: string[];
  subjectClaim: string;
  /**
   * The issuer is public and shared: anyone (any repository, project or Google account) can get
   * a token from it with whatever audience they ask for, so issuer and audience alone admit
   * strangers. The config loader refuses such an issuer unless it binds `claims` that narrow it
   * to the operator's own workloads (a repository, a project path, a service account).
   */
  multiTenant: boolean;
}

export const PRESETS: Record<string, Preset> = {
  // Kubernetes and EKS service account tokens: iss is the cluster's, sub is system:serviceaccount:NS:NAME.
  kubernetes: { algorithms: ['RS256', 'ES256'], subjectClaim: 'sub', multiTenant: false },
  eks: { algorithms: ['RS256'], subjectClaim: 'sub', multiTenant: false },
  // Any workflow of any repository on github.com can ask for a token with any audience.
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com',
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    multiTenant: true,
  },
  // Any CI job of any project on gitlab.com (or on a self-hosted instance, with its own issuer)
  // can ask for an id_token with any audience.
  gitlab: { issuer: 'https://gitlab.com', algorithms: ['RS256'], subjectClaim: 'sub', multiTenant: true },
  // Any Google account or any project's service account can get an ID token with any audience.
  google: { issuer: 'https://accounts.google.com', algorithms: ['RS256'], subjectClaim: 'sub', multiTenant: true },
  // Entra ID: iss is https://login.microsoftonline.com/TENANT/v2.0, so one tenant only. sub is
  // pairwise (different per application) but never changes for one caller of snowgate's API,
  // which is all a principal needs. oid, the object id, is the one stable across applications:
  // set subjectClaim: oid to key principals (and pins) by the id the Azure portal shows.
  azure: { algorithms: ['RS256'], subjectClaim: 'sub', multiTenant: false },
  okta: { algorithms: ['RS256'], subjectClaim: 'sub', multiTenant: false },
  // AWS STS outbound web identity tokens (GetWebIdentityToken): iss is per account.
  aws: { algorithms: ['RS256', 'ES384'], subjectClaim: 'sub', multiTenant: false },
};

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

/** Case of scheme and host and a trailing slash do not make another issuer worth trusting more. */
function comparable(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}
