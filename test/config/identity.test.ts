import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base, refused, resolve } from './helpers.js';

const withIssuer = (issuer: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  ...base(),
  issuers: [{ name: 'x', audience: ['snowgate'], ...issuer }],
  ...more,
});

describe('config: presets that keep strangers out', () => {
  it('refuses GitHub Actions bound only by names that can change hands, naming the id to bind', () => {
    refused(withIssuer({ preset: 'github-actions', claims: { repository: 'example/billing' } }), [
      /issuers\[0\]\.claims: repository can change hands; bind repository_id/,
    ]);
    refused(withIssuer({ preset: 'github-actions', claims: { repository_owner: 'example', ref: 'refs/heads/main' } }), [
      /repository_owner can change hands; bind repository_owner_id/,
    ]);
    refused(withIssuer({ preset: 'github-actions', claims: { sub: 'repo:example/billing:*' } }), [
      /sub can change hands/,
    ]);
    // On github.com, even without a name: environment: prod alone admits every repository's prod.
    refused(withIssuer({ preset: 'github-actions', claims: { environment: 'prod' } }), [
      /none of them is an immutable id; bind repository_id or repository_owner_id/,
    ]);
    const ok = resolve(
      withIssuer({ preset: 'github-actions', claims: { repository: 'example/billing', repository_id: '123' } }),
    );
    assert.deepEqual(ok.issuers[0]?.claims, { repository: 'example/billing', repository_id: '123' });
    // A GitHub Enterprise Server issuer is not public: no id is needed unless a name is bound.
    resolve(withIssuer({ preset: 'github-actions', issuer: 'https://ghes.example.com/_services/token' }));
    refused(
      withIssuer({
        preset: 'github-actions',
        issuer: 'https://ghes.example.com/_services/token',
        claims: { repository: 'a/b' },
      }),
      [/repository can change hands/],
    );
  });

  it('applies the same rule to gitlab.com named by URL, and refuses ids written as numbers', () => {
    refused(withIssuer({ issuer: 'https://gitlab.com', claims: { project_path: 'example/billing' } }), [
      /project_path can change hands; bind project_id/,
    ]);
    refused(withIssuer({ preset: 'github-actions', claims: { repository_id: 123456789 } }), [
      /issuers\[0\]\.claims\.repository_id: its tokens carry ids as strings; quote it: '123456789'/,
    ]);
    refused(withIssuer({ preset: 'gitlab', claims: { project_id: [20, '21'] } }), [/project_id: .*quote it: '20'/]);
  });

  it('takes an Okta custom authorization server only', () => {
    refused(withIssuer({ preset: 'okta', issuer: 'https://example.okta.com' }), [
      /issuers\[0\]\.issuer: an Okta issuer is a custom authorization server/,
    ]);
    const c = resolve(withIssuer({ preset: 'okta', issuer: 'https://example.okta.com/oauth2/aus1a2b3c4' }));
    assert.equal(c.issuers[0]?.subjectClaim, 'sub');
  });

  it('binds an Entra ID issuer to its tenant, and refuses the multi-tenant endpoints', () => {
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    for (const t of ['common', 'organizations', 'consumers', 'contoso.onmicrosoft.com']) {
      refused(withIssuer({ preset: 'azure', issuer: `https://login.microsoftonline.com/${t}/v2.0` }), [
        /issuers\[0\]\.issuer: an Entra ID issuer names one tenant by its id/,
      ]);
    }
    const v2 = resolve(withIssuer({ preset: 'azure', issuer: `https://login.microsoftonline.com/${tid}/v2.0` }));
    assert.deepEqual(v2.issuers[0]?.claims, { tid });
    const v1 = resolve(
      withIssuer({ preset: 'azure', issuer: `https://sts.windows.net/${tid.toUpperCase()}/`, claims: { tid: 'x' } }),
    );
    assert.equal(v1.issuers[0]?.claims.tid, tid, "the issuer's tenant wins over a bound tid");
  });

  it('gives kubernetes and eks the pod name as the instance, and aws the earlier name of aws-sts', () => {
    for (const preset of ['kubernetes', 'eks']) {
      const c = resolve(withIssuer({ preset, issuer: 'https://k8s.example.com' }));
      assert.equal(c.issuers[0]?.instanceClaim, '/kubernetes.io/pod/name', preset);
    }
    const aws = resolve(withIssuer({ preset: 'aws', issuer: 'https://a.tokens.sts.global.api.aws' }));
    assert.deepEqual(aws.issuers[0]?.algorithms, ['RS256', 'ES384']);
    const own = resolve(withIssuer({ preset: 'kubernetes', issuer: 'https://k8s.example.com', instanceClaim: 'jti' }));
    assert.equal(own.issuers[0]?.instanceClaim, 'jti');
  });
});

describe('config: claims, subjects and limits', () => {
  it('takes a subject template instead of subjectClaim, and refuses one that could be ambiguous', () => {
    const c = resolve(withIssuer({ issuer: 'https://idp.example.com', subject: '{sub}@{tid}' }));
    assert.equal(c.issuers[0]?.subjectTemplate, '{sub}@{tid}');
    const bad: Array<[string, RegExp]> = [
      ['{sub}{tid}', /need text between them/],
      ['plain', /names no claim/],
      ['{sub', /unclosed/],
      ['sub}', /unopened/],
      ['{}', /names no claim/],
    ];
    for (const [subject, why] of bad) {
      refused(withIssuer({ issuer: 'https://idp.example.com', subject }), [/issuers\[0\]\.subject: /, why]);
    }
    refused(withIssuer({ issuer: 'https://idp.example.com', subject: '{sub}', subjectClaim: 'oid' }), [
      /subject \(a template\) or subjectClaim, not both/,
    ]);
  });

  it('reads maxTokenLifetime and maxPrincipals', () => {
    const c = resolve(withIssuer({ issuer: 'https://idp.example.com', maxTokenLifetime: '1h', maxPrincipals: 20 }));
    assert.equal(c.issuers[0]?.maxTokenLifetimeMs, 3_600_000);
    assert.equal(c.issuers[0]?.maxPrincipals, 20);
    refused(withIssuer({ issuer: 'https://idp.example.com', maxTokenLifetime: '0s' }), [
      /issuers\[0\]\.maxTokenLifetime: must be at least 1s/,
    ]);
    refused(withIssuer({ issuer: 'https://idp.example.com', maxPrincipals: 0 }), [/issuers\[0\]\.maxPrincipals/]);
  });

  it('resolves an aws-iam issuer: the STS endpoint, arn as the subject, the session as the instance', () => {
    const c = resolve(
      withIssuer({ kind: 'aws-iam', audience: ['snowgate-prod'], claims: { account: '123456789012' } }),
    );
    assert.equal(c.issuers[0]?.kind, 'aws-iam');
    assert.equal(c.issuers[0]?.issuer, 'https://sts.amazonaws.com');
    assert.equal(c.issuers[0]?.subjectClaim, 'arn');
    assert.equal(c.issuers[0]?.instanceClaim, 'sessionName');
    refused(withIssuer({ kind: 'aws-iam', issuer: 'https://sts.amazonaws.com/x' }), [/an origin only/]);
    refused(withIssuer({ kind: 'aws-iam', issuer: 'http://sts.example.com' }), [/https/]);
    for (const k of ['preset', 'algorithms', 'jwksUri']) {
      const v = k === 'preset' ? 'kubernetes' : k === 'algorithms' ? ['RS256'] : 'https://x.example.com/jwks';
      refused(withIssuer({ kind: 'aws-iam', [k]: v }), [new RegExp(`issuers\\[0\\]\\.${k}: not used by kind aws-iam`)]);
    }
    refused(withIssuer({ kind: 'jwt' }), [/issuers\[0\]\.kind/]);
  });
});

describe('config: roles and the listener', () => {
  it('reads viewerRole and admin principals, and refuses ones that cannot work', () => {
    const principals = [{ issuer: 'x', subject: 'ops', role: 'viewer' }];
    const c = resolve(
      withIssuer({ issuer: 'https://idp.example.com' }, { admin: { principals, viewerRole: 'readers' } }),
    );
    assert.deepEqual(c.admin.principals, principals);
    assert.equal(c.admin.viewerRole, 'readers');
    refused(
      withIssuer({ issuer: 'https://i.example.com' }, { admin: { principals: [{ ...principals[0], issuer: 'y' }] } }),
      [/admin\.principals\[0\]\.issuer: no issuer named "y"/],
    );
    refused(
      withIssuer({ issuer: 'https://i.example.com' }, { admin: { principals: [{ ...principals[0], role: 'root' }] } }),
      [/admin\.principals\[0\]\.role/],
    );
    refused(withIssuer({ issuer: 'https://i.example.com' }, { admin: { viewerRole: 'snowgate-admins' } }), [
      /admin\.viewerRole: must differ from admin\.adminRole/,
    ]);
  });

  it('reads TLS files as absolute paths, the per-address limit and trusted proxies', () => {
    const c = resolve({
      ...base(),
      server: {
        tls: { cert: 'tls/cert.pem', key: '/etc/key.pem' },
        perAddress: { requestsPerSecond: 5, burst: 10 },
        trustProxy: ['10.0.0.0/8', '::1'],
      },
    });
    assert.ok(c.server.tls?.cert.endsWith('/tls/cert.pem') && c.server.tls.cert.startsWith('/'));
    assert.equal(c.server.tls?.key, '/etc/key.pem');
    assert.deepEqual(c.server.perAddress, { requestsPerSecond: 5, burst: 10 });
    assert.deepEqual(c.server.trustProxy, ['10.0.0.0/8', '::1']);
    refused({ ...base(), server: { trustProxy: ['lb.internal'] } }, [/server\.trustProxy\[0\]: "lb.internal"/]);
    refused({ ...base(), server: { tls: { cert: 'c.pem' } } }, [/server\.tls/]);
  });
});
