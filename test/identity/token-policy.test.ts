import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuerConfig } from '../../src/config/types.js';
import { InvalidToken } from '../../src/errors.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';

function config(idp: TestIssuer, more: Partial<IssuerConfig> = {}): IssuerConfig {
  return {
    name: 'corp',
    issuer: idp.issuer,
    audience: ['snowgate'],
    algorithms: ['RS256'],
    jwksUri: idp.jwksUri,
    subjectClaim: 'sub',
    claims: {},
    dynamic: true,
    ...more,
  };
}

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => assert.fail('the token was accepted'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof InvalidToken, String(e));
  assert.equal(e.issuer, 'corp', 'counted against the issuer it claimed');
  return e.reason;
}

describe('token policy: what jose leaves to the caller', () => {
  let idp: TestIssuer;
  let verifier: TokenVerifier;
  before(async () => {
    idp = await startTestIssuer();
    verifier = new TokenVerifier([config(idp)], { clockToleranceMs: 5000 });
  });
  after(() => idp.close());

  it('accepts bearer token types: JWT, at+jwt (RFC 9068), their media types, and none at all', async () => {
    for (const typ of ['JWT', 'jwt', 'at+jwt', 'application/at+jwt', 'application/jwt', null]) {
      assert.equal((await verifier.verify(await idp.mint({ typ }))).subject, 'svc-a', String(typ));
    }
  });

  it('refuses tokens issued for another purpose by their typ', async () => {
    for (const typ of ['logout+jwt', 'dpop+jwt', 'secevent+jwt', 'JOSE', 'id_token+jwt', '']) {
      assert.equal(await reason(verifier.verify(await idp.mint({ typ }))), 'bad_type', typ);
    }
  });

  it('refuses an iat in the future beyond the clock skew, and allows it within', async () => {
    assert.equal((await verifier.verify(await idp.mint({ iatIn: 4 }))).subject, 'svc-a');
    assert.equal(await reason(verifier.verify(await idp.mint({ iatIn: 60, expIn: 300 }))), 'issued_in_future');
  });

  it('refuses a lifetime over 24 hours by default', async () => {
    assert.equal((await verifier.verify(await idp.mint({ expIn: 24 * 3600 }))).subject, 'svc-a');
    assert.equal(await reason(verifier.verify(await idp.mint({ expIn: 24 * 3600 + 60 }))), 'lifetime_too_long');
    // Issued an hour ago for 25 hours: still 24 left, but minted to live too long.
    assert.equal(
      await reason(verifier.verify(await idp.mint({ iatIn: -3600, expIn: 24 * 3600 }))),
      'lifetime_too_long',
    );
  });

  it("refuses a lifetime over the issuer's maxTokenLifetime", async () => {
    const short = new TokenVerifier([config(idp, { maxTokenLifetimeMs: 600_000 })], { clockToleranceMs: 0 });
    assert.equal((await short.verify(await idp.mint({ expIn: 600 }))).subject, 'svc-a');
    assert.equal(await reason(short.verify(await idp.mint({ expIn: 3600 }))), 'lifetime_too_long');
  });
});
