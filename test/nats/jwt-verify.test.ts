// The auth callout trusts a request only once it verifies by the server nkey it names as issuer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signJwt } from '../../src/nats/jwt-encode.js';
import { UnverifiedJwt, verifiedClaims } from '../../src/nats/jwt-verify.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { createSigner } from '../../src/nats/signer.js';

const request = (signerSeed: string) =>
  signJwt(
    { name: 'x', sub: 'UUSER', aud: 'nats-authorization-request', nats: { type: 'authorization_request', version: 2 } },
    createSigner(signerSeed),
    1_700_000_000,
  );

describe('verifiedClaims', () => {
  it('takes a JWT signed by the server nkey it names (test/nats/callout-server.test.ts: as nats-server signs)', () => {
    const server = generateNkey('server');
    assert.match(server.publicKey, /^N[A-Z2-7]{55}$/);
    assert.equal(verifiedClaims(request(server.seed), 'server').iss, server.publicKey);
  });

  it('refuses another signer, a changed body, another role, and what is not a NATS JWT', () => {
    const server = generateNkey('server');
    const jwt = request(server.seed);
    const [h, b, sig] = jwt.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(b, 'base64url').toString()) as Record<string, unknown>;
    const other = generateNkey('server');
    const cases: Array<[string, string]> = [
      [
        'signed by another key',
        `${h}.${Buffer.from(JSON.stringify({ ...claims, iss: other.publicKey })).toString('base64url')}.${sig}`,
      ],
      [
        'a changed body',
        `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'UOTHER' })).toString('base64url')}.${sig}`,
      ],
      ['a user key as issuer', request(generateNkey('user').seed)],
      ['an HS256 header', `${Buffer.from('{"typ":"JWT","alg":"HS256"}').toString('base64url')}.${b}.${sig}`],
      ['no signature', `${h}.${b}`],
      ['not base64 JSON', `${h}.%%%.${sig}`],
    ];
    for (const [what, token] of cases) assert.throws(() => verifiedClaims(token, 'server'), UnverifiedJwt, what);
  });
});
