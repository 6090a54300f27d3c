/**
 * Defaults for well-known token issuers. A preset fills only what the config leaves out; the
 * issuer URL stays required where it is per cluster, tenant or account.
 */
export interface Preset {
  issuer?: string;
  algorithms: string[];
  subjectClaim: string;
}

export const PRESETS: Record<string, Preset> = {
  // Kubernetes and EKS service account tokens: iss is the cluster's, sub is system:serviceaccount:NS:NAME.
  kubernetes: { algorithms: ['RS256', 'ES256'], subjectClaim: 'sub' },
  eks: { algorithms: ['RS256'], subjectClaim: 'sub' },
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com',
    algorithms: ['RS256'],
    subjectClaim: 'sub',
  },
  gitlab: { issuer: 'https://gitlab.com', algorithms: ['RS256'], subjectClaim: 'sub' },
  google: { issuer: 'https://accounts.google.com', algorithms: ['RS256'], subjectClaim: 'sub' },
  // Entra ID: iss is https://login.microsoftonline.com/TENANT/v2.0; oid is stable per identity.
  azure: { algorithms: ['RS256'], subjectClaim: 'sub' },
  okta: { algorithms: ['RS256'], subjectClaim: 'sub' },
  // AWS STS outbound web identity tokens (GetWebIdentityToken).
  aws: { algorithms: ['RS256', 'ES384'], subjectClaim: 'sub' },
};
