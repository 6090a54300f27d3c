// One-click sign-in through the dev issuer: authorization code + PKCE with openid-client, the way
// the console's server side does it, following the browser's redirects by hand.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Authenticator } from '../../src/identity/authenticator.js';
import { DEV_AUDIENCE, DEV_RESOURCE, startDevIssuer, type DevIssuer } from '../../src/identity/dev-issuer.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { browse } from './browse.js';

const REDIRECT = 'http://127.0.0.1:9/ui/auth/callback';

describe('dev issuer: browser sign-in', () => {
  let dev: DevIssuer;
  let config: oidc.Configuration;
  before(async () => {
    dev = await startDevIssuer({
      clients: [{ clientId: 'svc', clientSecret: 'svc-secret' }],
      browserClients: [
        {
          clientId: 'snowgate-console',
          redirectUris: [REDIRECT],
          accountId: 'dev-admin',
          claims: { groups: ['snowgate-admins'] },
        },
      ],
      onError: () => undefined,
    });
    config = await oidc.discovery(new URL(dev.issuer), 'snowgate-console', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
  });
  after(() => dev?.close());

  async function signIn(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      resource: DEV_RESOURCE,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...extra,
    });
    const { url: back } = await browse(url, dev.issuer);
    return { back, verifier, state };
  }

  it('signs the console in as its account with no prompt, and the token is an admin token', async () => {
    const { back, verifier, state } = await signIn();
    assert.equal(back.origin + back.pathname, REDIRECT);
    const tokens = await oidc.authorizationCodeGrant(
      config,
      back,
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: DEV_RESOURCE },
    );
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.sub, 'dev-admin');
    assert.equal(claims.aud, DEV_AUDIENCE);
    assert.deepEqual(claims.groups, ['snowgate-admins']);
    const verifierOf = new TokenVerifier(
      [
        {
          name: 'dev',
          issuer: dev.issuer,
          audience: [DEV_AUDIENCE],
          algorithms: ['RS256'],
          subjectClaim: 'sub',
          claims: {},
          dynamic: true,
        },
      ],
      { clockToleranceMs: 1000 },
    );
    const auth = new Authenticator(verifierOf, { issuer: 'dev', roleClaim: 'groups', adminRole: 'snowgate-admins' });
    assert.deepEqual(await auth.admin(`Bearer ${tokens.access_token}`), { kind: 'admin', name: 'dev:dev-admin' });
  });

  it('refuses a code without its PKCE verifier', async () => {
    const { back, state } = await signIn();
    await assert.rejects(
      oidc.authorizationCodeGrant(
        config,
        back,
        { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state },
        { resource: DEV_RESOURCE },
      ),
      (e: { error?: string }) => e.error === 'invalid_grant',
    );
  });

  it('refuses a redirect URI it does not know', async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'http://127.0.0.1:9/elsewhere',
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /redirect_uri/);
  });
});
