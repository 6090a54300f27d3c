import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdminConfig, IssuerConfig } from '../../src/config/types.js';
import { Forbidden, InvalidToken, PayloadTooLarge } from '../../src/errors.js';
import { Authenticator } from '../../src/identity/authenticator.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';

const BOOTSTRAP = 'bootstrap-secret-0123456789';

function issuer(name: string, idp: TestIssuer, more: Partial<IssuerConfig> = {}): IssuerConfig {
  return {
    name,
    issuer: idp.issuer,
    audience: ['snowgate'],
    algorithms: ['RS256', 'ES256'],
    jwksUri: idp.jwksUri,
    subjectClaim: 'sub',
    claims: {},
    dynamic: true,
    ...more,
  };
}

const bearer = (token: string) => `Bearer ${token}`;

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => assert.fail('accepted'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof InvalidToken, String(e));
  return e.reason;
}

describe('Authenticator', () => {
  let corp: TestIssuer;
  let k8s: TestIssuer;
  let gha: TestIssuer;
  let auth: Authenticator;
  const admin: AdminConfig = {
    bootstrapToken: BOOTSTRAP,
    issuer: 'corp',
    roleClaim: 'groups',
    adminRole: 'snowgate-admins',
  };

  before(async () => {
    [corp, k8s, gha] = await Promise.all([startTestIssuer(), startTestIssuer(), startTestIssuer()]);
    const verifier = new TokenVerifier(
      [
        issuer('corp', corp),
        issuer('k8s', k8s, {
          claims: { '/kubernetes.io/namespace': ['payments', 'ledger-*'], env: 'prod' },
        }),
        issuer('gha', gha, { claims: { sub: 'repo:acme/*:ref:refs/heads/main' } }),
      ],
      { clockToleranceMs: 1000 },
    );
    auth = new Authenticator(verifier, admin);
  });
  after(() => Promise.all([corp.close(), k8s.close(), gha.close()]));

  describe('service', () => {
    it('gives the principal as issuer name and subject, with the claims', async () => {
      const s = await auth.service(bearer(await corp.mint({ sub: 'svc-a', claims: { team: 'x' } })));
      assert.deepEqual(s.principal, { issuer: 'corp', subject: 'svc-a' });
      assert.equal(s.issuer.name, 'corp');
      assert.equal(s.claims.team, 'x');
    });

    it('takes the scheme in any case and refuses anything but Bearer', async () => {
      const token = await corp.mint();
      assert.equal((await auth.service(`bearer ${token}`)).principal.subject, 'svc-a');
      assert.equal((await auth.service(`BEARER  ${token}`)).principal.subject, 'svc-a');
      assert.equal(await reason(auth.service(undefined)), 'missing');
      assert.equal(await reason(auth.service('')), 'missing');
      assert.equal(await reason(auth.service('Bearer')), 'missing');
      assert.equal(await reason(auth.service('Bearer ')), 'missing');
      assert.equal(await reason(auth.service(token)), 'missing');
      assert.equal(await reason(auth.service(`Basic ${token}`)), 'missing');
      assert.equal(await reason(auth.service(`Bearer ${token} extra`)), 'missing');
    });

    it('refuses an oversized token as too large', async () => {
      await assert.rejects(auth.service(bearer('x'.repeat(17 * 1024))), PayloadTooLarge);
    });

    it('checks bound claims, JSON pointers and globs included, with 403', async () => {
      const k8sClaims = (ns: string, env = 'prod') => ({ env, 'kubernetes.io': { namespace: ns } });
      assert.equal(
        (await auth.service(bearer(await k8s.mint({ claims: k8sClaims('payments') })))).principal.issuer,
        'k8s',
      );
      await auth.service(bearer(await k8s.mint({ claims: k8sClaims('ledger-eu') })));
      await assert.rejects(auth.service(bearer(await k8s.mint({ claims: k8sClaims('default') }))), Forbidden);
      await assert.rejects(auth.service(bearer(await k8s.mint({ claims: k8sClaims('payments', 'dev') }))), Forbidden);
      await assert.rejects(auth.service(bearer(await k8s.mint({ claims: { env: 'prod' } }))), Forbidden);

      await auth.service(bearer(await gha.mint({ sub: 'repo:acme/api:ref:refs/heads/main' })));
      await assert.rejects(
        auth.service(bearer(await gha.mint({ sub: 'repo:evil/api:ref:refs/heads/main' }))),
        Forbidden,
      );
      await assert.rejects(
        auth.service(bearer(await gha.mint({ sub: 'repo:acme/api:ref:refs/heads/dev' }))),
        Forbidden,
      );
    });

    it('keeps 401 for a bad token even when its claims would not match', async () => {
      assert.equal(await reason(auth.service(bearer(await k8s.mint({ expIn: -60 })))), 'expired');
    });
  });

  describe('admin', () => {
    it('accepts the bootstrap token', async () => {
      assert.deepEqual(await auth.admin(bearer(BOOTSTRAP)), { kind: 'admin', name: 'bootstrap' });
    });

    it('accepts a token of the admin issuer carrying the admin role', async () => {
      const token = await corp.mint({ sub: 'alice', claims: { groups: ['dev', 'snowgate-admins'] } });
      assert.deepEqual(await auth.admin(bearer(token)), { kind: 'admin', name: 'corp:alice' });
      const single = await corp.mint({ sub: 'bob', claims: { groups: 'snowgate-admins' } });
      assert.deepEqual(await auth.admin(bearer(single)), { kind: 'admin', name: 'corp:bob' });
    });

    it('refuses a service token with 403', async () => {
      await assert.rejects(auth.admin(bearer(await corp.mint({ sub: 'svc' }))), Forbidden);
      const wrongRole = await corp.mint({ claims: { groups: ['snowgate-admins-not', 'snowgate'] } });
      await assert.rejects(auth.admin(bearer(wrongRole)), Forbidden);
    });

    it('refuses the admin role from an issuer other than the admin issuer', async () => {
      const token = await gha.mint({
        sub: 'repo:acme/api:ref:refs/heads/main',
        claims: { groups: ['snowgate-admins'] },
      });
      await assert.rejects(auth.admin(bearer(token)), Forbidden);
    });

    it('refuses a wrong static token, and no token, with 401', async () => {
      assert.equal(await reason(auth.admin(bearer('conformance-admin-wrong'))), 'malformed');
      assert.equal(await reason(auth.admin(bearer(`${BOOTSTRAP}x`))), 'malformed');
      assert.equal(await reason(auth.admin(bearer(BOOTSTRAP.slice(0, -1)))), 'malformed');
      assert.equal(await reason(auth.admin(undefined)), 'missing');
      assert.equal(await reason(auth.admin(`Basic ${BOOTSTRAP}`)), 'missing');
    });

    it('refuses a forged admin token with 401', async () => {
      assert.equal(await reason(auth.admin(bearer(corp.none()))), 'bad_algorithm');
    });

    it('has no bootstrap token when none is configured', async () => {
      const verifier = new TokenVerifier([issuer('corp', corp)], { clockToleranceMs: 0 });
      const bare = new Authenticator(verifier, { roleClaim: 'groups', adminRole: 'snowgate-admins' });
      assert.equal(await reason(bare.admin(bearer(BOOTSTRAP))), 'malformed');
      // And without an admin issuer no issuer token is an admin.
      const token = await corp.mint({ claims: { groups: ['snowgate-admins'] } });
      await assert.rejects(bare.admin(bearer(token)), Forbidden);
    });

    it('reads the role claim through a JSON pointer', async () => {
      const verifier = new TokenVerifier([issuer('corp', corp)], { clockToleranceMs: 0 });
      const nested = new Authenticator(verifier, {
        issuer: 'corp',
        roleClaim: '/realm_access/roles',
        adminRole: 'snowgate-admins',
      });
      const token = await corp.mint({ sub: 'kc', claims: { realm_access: { roles: ['snowgate-admins'] } } });
      assert.deepEqual(await nested.admin(bearer(token)), { kind: 'admin', name: 'corp:kc' });
    });
  });

  describe('any', () => {
    it('tells admins from principals', async () => {
      assert.deepEqual(await auth.any(bearer(BOOTSTRAP)), { kind: 'admin', name: 'bootstrap' });
      const adminToken = await corp.mint({ sub: 'alice', claims: { groups: ['snowgate-admins'] } });
      assert.deepEqual(await auth.any(bearer(adminToken)), { kind: 'admin', name: 'corp:alice' });
      assert.deepEqual(await auth.any(bearer(await corp.mint({ sub: 'svc-a' }))), {
        kind: 'principal',
        principal: { issuer: 'corp', subject: 'svc-a' },
      });
    });

    it('refuses bad tokens with 401 and unmatched bound claims with 403', async () => {
      assert.equal(await reason(auth.any(bearer('nope'))), 'malformed');
      assert.equal(await reason(auth.any(undefined)), 'missing');
      await assert.rejects(auth.any(bearer(await k8s.mint({ claims: { env: 'dev' } }))), Forbidden);
    });
  });
});
