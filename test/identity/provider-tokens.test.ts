// Each preset's worked example in config/snowgate.example.yaml, fed a token of that provider's
// real claim shape, signed by a local issuer standing in for it (the one edge that cannot run here).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { resolveConfig } from '../../src/config/load.js';
import { ClaimsMismatch } from '../../src/errors.js';
import { Authenticator, type ServiceIdentity } from '../../src/identity/authenticator.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';

const EXAMPLE = fileURLToPath(new URL('../../../config/snowgate.example.yaml', import.meta.url));
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

interface Provider {
  /** The issuer's name in the example config. */
  name: string;
  /** The issuer URL's path at the stand-in, where the provider's has one. */
  path?: string;
  /** typ header: GitHub, Google and Entra ID send JWT; Kubernetes and Okta send none. */
  typ?: string | null;
  claims: Record<string, unknown>;
  subject: string;
  instance?: string;
  /** A token of the same provider that the example's bound claims must refuse. */
  stranger: Record<string, unknown>;
}

const pod = (ns: string, sa: string, name: string) => ({
  sub: `system:serviceaccount:${ns}:${sa}`,
  aud: ['snowgate'],
  'kubernetes.io': {
    namespace: ns,
    node: { name: 'ip-10-0-1-23.eu-west-1.compute.internal', uid: 'c1b7b0d4-0a8e-4b3e-9c1d-2f8a9e6b7c10' },
    pod: { name, uid: '4f8a2f7e-1b55-4d2a-9f0e-7c3d2b1a0e99' },
    serviceaccount: { name: sa, uid: 'b1e5c1c2-9f3a-4d8e-8a7b-6c5d4e3f2a10' },
    warnafter: Math.floor(Date.now() / 1000) + 3000,
  },
});

const github = (repositoryId: string) => ({
  sub: 'repo:example/billing:environment:prod',
  aud: 'snowgate',
  ref: 'refs/heads/main',
  sha: 'e5e8b3f0a0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5',
  repository: 'example/billing',
  repository_id: repositoryId,
  repository_owner: 'example',
  repository_owner_id: '6789',
  repository_visibility: 'private',
  run_id: '9876543210',
  run_number: '42',
  run_attempt: '1',
  actor: 'octocat',
  actor_id: '583231',
  workflow: 'deploy',
  workflow_ref: 'example/billing/.github/workflows/deploy.yml@refs/heads/main',
  event_name: 'push',
  ref_type: 'branch',
  ref_protected: 'true',
  environment: 'prod',
  job_workflow_ref: 'example/billing/.github/workflows/deploy.yml@refs/heads/main',
  runner_environment: 'github-hosted',
});

const gitlab = (refProtected: string) => ({
  sub: 'project_path:example/billing:ref_type:branch:ref:main',
  aud: 'snowgate',
  namespace_id: '72',
  namespace_path: 'example',
  project_id: '20',
  project_path: 'example/billing',
  user_id: '1',
  user_login: 'sean',
  pipeline_id: '574',
  pipeline_source: 'push',
  job_id: '302',
  ref: 'main',
  ref_type: 'branch',
  ref_path: 'refs/heads/main',
  ref_protected: refProtected,
  runner_id: 1,
  runner_environment: 'gitlab-hosted',
});

const okta = (scopes: string[]) => ({
  ver: 1,
  aud: 'api://snowgate',
  cid: '0oa1b2c3d4e5f6g7h8i9',
  scp: scopes,
  sub: '0oa1b2c3d4e5f6g7h8i9',
});

const awsSts = (account: string) => ({
  aud: 'snowgate',
  sub: `arn:aws:iam::${account}:role/billing-api`,
  'https://sts.amazonaws.com/': {
    aws_account: account,
    source_region: 'eu-west-1',
    org_id: 'o-abc1234567',
    principal_tags: { team: 'billing' },
  },
});

const google = (verified: boolean) => ({
  aud: 'snowgate',
  azp: '112233445566778899001',
  sub: '112233445566778899001',
  email: 'billing@example-project.iam.gserviceaccount.com',
  email_verified: verified,
  google: { compute_engine: { project_id: 'example-project', zone: 'europe-west1-b' } },
});

const entra = (tid: string) => ({
  aud: 'api://snowgate',
  aio: 'E2ZgYJg3',
  azp: '9b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
  azpacr: '1',
  oid: '1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718',
  roles: ['Snowgate.Lease'],
  sub: 'q9M2y8dTn1Qy1bW0eKqjz5fWm1pXyYc8kT3u5vB7nLs',
  tid,
  uti: 'AbCdEfGh',
  ver: '2.0',
});

const PROVIDERS: Provider[] = [
  {
    name: 'k8s',
    typ: null,
    claims: pod('payments', 'ledger', 'ledger-7d9f8b6c5d-x2v9q'),
    subject: 'system:serviceaccount:payments:ledger',
    instance: 'ledger-7d9f8b6c5d-x2v9q',
    stranger: pod('default', 'ledger', 'ledger-1'),
  },
  {
    name: 'eks',
    typ: null,
    claims: pod('payments', 'api', 'api-0'),
    subject: 'system:serviceaccount:payments:api',
    instance: 'api-0',
    stranger: pod('kube-system', 'api', 'api-0'),
  },
  {
    name: 'gha',
    claims: github('123456789'),
    subject: 'repo:example/billing:environment:prod',
    // The same name, re-created by someone else after a deletion: another id.
    stranger: github('999999999'),
  },
  {
    name: 'gitlab',
    claims: gitlab('true'),
    subject: 'project_path:example/billing:ref_type:branch:ref:main',
    stranger: gitlab('false'),
  },
  {
    name: 'okta',
    path: '/oauth2/default',
    typ: null,
    claims: okta(['snowgate.lease', 'other']),
    subject: '0oa1b2c3d4e5f6g7h8i9',
    stranger: okta(['other']),
  },
  {
    name: 'aws-sts',
    claims: awsSts('123456789012'),
    subject: 'arn:aws:iam::123456789012:role/billing-api',
    stranger: awsSts('210987654321'),
  },
  {
    name: 'google',
    claims: google(true),
    subject: '112233445566778899001',
    stranger: google(false),
  },
  {
    name: 'entra',
    path: `/${TENANT}/v2.0`,
    claims: entra(TENANT),
    subject: '1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718',
    stranger: entra('00000000-0000-0000-0000-000000000000'),
  },
];

/** The example's issuer entry, pointed at the stand-in, resolved as `snowgate serve` would. */
function exampleIssuer(name: string, idp: TestIssuer) {
  const raw = parse(readFileSync(EXAMPLE, 'utf8')) as { pools: unknown; issuers: Array<Record<string, unknown>> };
  const entry = raw.issuers.find((i) => i.name === name);
  assert.ok(entry, `the example config has an issuer named ${name}`);
  const config = resolveConfig({ pools: raw.pools, issuers: [{ ...entry, issuer: idp.issuer, jwksUri: idp.jwksUri }] });
  return config.issuers[0]!;
}

describe('provider presets with tokens of their real claim shape', () => {
  const stand_ins: TestIssuer[] = [];
  after(() => Promise.all(stand_ins.map((i) => i.close())));

  for (const p of PROVIDERS) {
    it(`${p.name}: the worked example admits its workload and refuses a stranger`, async () => {
      const idp = await startTestIssuer(p.path ? { path: p.path } : {});
      stand_ins.push(idp);
      const issuer = exampleIssuer(p.name, idp);
      const auth = new Authenticator(new TokenVerifier([issuer], { clockToleranceMs: 1000 }), {
        roleClaim: 'groups',
        adminRole: 'snowgate-admins',
      });
      const mint = (claims: Record<string, unknown>) => {
        const { sub, aud, ...rest } = claims as { sub: string; aud: string | string[] };
        return idp.mint({ sub, aud, claims: rest, typ: p.typ === undefined ? 'JWT' : p.typ });
      };
      const who: ServiceIdentity = await auth.service(`Bearer ${await mint(p.claims)}`);
      assert.deepEqual(who.principal, { issuer: p.name, subject: p.subject });
      assert.equal(who.instance, p.instance);
      await assert.rejects(auth.service(`Bearer ${await mint(p.stranger)}`), ClaimsMismatch);
    });
  }
});
