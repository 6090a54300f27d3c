import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { IssuerConfig } from '../../src/config/types.js';
import { Authenticator } from '../../src/identity/authenticator.js';
import { DEV_AUDIENCE, startDevIssuer, type DevClient, type DevIssuer } from '../../src/identity/dev-issuer.js';
import { TokenVerifier } from '../../src/identity/verifier.js';

const clients: DevClient[] = [
  { clientId: 'svc-a', clientSecret: 'svc-a-secret' },
  { clientId: 'ops', clientSecret: 'ops-secret', claims: { groups: ['snowgate-admins'], sub: 'root', aud: 'x' } },
];

async function requestToken(
  dev: DevIssuer,
  clientId: string,
  secret: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(dev.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function accessToken(dev: DevIssuer, clientId: string, secret: string): Promise<string> {
  const { status, body } = await requestToken(dev, clientId, secret);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(typeof body.access_token, 'string');
  return body.access_token as string;
}

function devIssuerConfig(dev: DevIssuer): IssuerConfig {
  return {
    name: 'dev',
    issuer: dev.issuer,
    audience: ['snowgate'],
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    claims: {},
    dynamic: true,
  };
}

describe('dev issuer', () => {
  let dir: string;
  let jwksFile: string;
  let dev: DevIssuer;
  const output: string[] = [];
  const saved = { warn: console.warn, info: console.info, error: console.error, log: console.log };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sg-dev-issuer-'));
    jwksFile = path.join(dir, 'keys', 'dev-issuer.jwks.json');
    // Record what oidc-provider prints on a first start: it should be nothing.
    for (const name of ['warn', 'info', 'error', 'log'] as const) {
      console[name] = (...args: unknown[]) => void output.push(args.map(String).join(' '));
    }
    try {
      dev = await startDevIssuer({ jwksFile, clients });
      await requestToken(dev, 'svc-a', 'svc-a-secret');
    } finally {
      Object.assign(console, saved);
    }
  });
  after(async () => {
    await dev.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts quietly on loopback', () => {
    assert.deepEqual(output, []);
    assert.match(dev.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(dev.tokenEndpoint, `${dev.issuer}/token`);
  });

  it('issues JWT access tokens for snowgate with client_credentials, sub = client id, 1 h', async () => {
    const token = await accessToken(dev, 'svc-a', 'svc-a-secret');
    const claims = decodeJwt(token);
    assert.equal(claims.iss, dev.issuer);
    assert.equal(claims.aud, DEV_AUDIENCE);
    assert.equal(claims.aud, 'snowgate');
    assert.equal(claims.sub, 'svc-a');
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'RS256');
    assert.equal(typeof header.kid, 'string');
  });

  it('gives the same token for an explicit resource=urn:snowgate and refuses other resources', async () => {
    const explicit = await requestToken(dev, 'svc-a', 'svc-a-secret', { resource: 'urn:snowgate' });
    assert.equal(explicit.status, 200);
    assert.equal(decodeJwt(explicit.body.access_token as string).aud, 'snowgate');
    const other = await requestToken(dev, 'svc-a', 'svc-a-secret', { resource: 'https://elsewhere.example' });
    assert.equal(other.status, 400);
    assert.equal(other.body.error, 'invalid_target');
  });

  it('refuses a wrong secret, an unknown client and other grants', async () => {
    assert.equal((await requestToken(dev, 'svc-a', 'wrong')).status, 401);
    assert.equal((await requestToken(dev, 'nobody', 'x')).status, 401);
    const code = await requestToken(dev, 'svc-a', 'svc-a-secret', { grant_type: 'authorization_code', code: 'x' });
    assert.equal(code.status, 400);
  });

  it('adds a client its claims but never lets them replace sub or aud', async () => {
    const claims = decodeJwt(await accessToken(dev, 'ops', 'ops-secret'));
    assert.deepEqual(claims.groups, ['snowgate-admins']);
    assert.equal(claims.sub, 'ops');
    assert.equal(claims.aud, 'snowgate');
  });

  it('keeps its signing keys in a 0600 file', async () => {
    assert.equal((await stat(jwksFile)).mode & 0o777, 0o600);
    const jwks = JSON.parse(await readFile(jwksFile, 'utf8')) as { keys: Array<Record<string, unknown>> };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.alg, 'RS256');
    assert.equal(typeof jwks.keys[0]?.d, 'string');
  });

  it('has tokens that TokenVerifier accepts through discovery, admin role included', async () => {
    const verifier = new TokenVerifier([devIssuerConfig(dev)], { clockToleranceMs: 1000 });
    const svc = await verifier.verify(await accessToken(dev, 'svc-a', 'svc-a-secret'));
    assert.equal(svc.issuer.name, 'dev');
    assert.equal(svc.subject, 'svc-a');
    const auth = new Authenticator(verifier, { issuer: 'dev', roleClaim: 'groups', adminRole: 'snowgate-admins' });
    const ops = await accessToken(dev, 'ops', 'ops-secret');
    assert.deepEqual(await auth.admin(`Bearer ${ops}`), { kind: 'admin', name: 'dev:ops' });
  });

  it('still accepts earlier tokens after a restart on the same port with the same key file', async () => {
    const earlier = await accessToken(dev, 'svc-a', 'svc-a-secret');
    const port = Number(new URL(dev.issuer).port);
    await dev.close();
    dev = await startDevIssuer({ port, jwksFile, clients });
    assert.equal(Number(new URL(dev.issuer).port), port);
    // A fresh verifier: discovery and JWKS come from the restarted issuer.
    const verifier = new TokenVerifier([devIssuerConfig(dev)], { clockToleranceMs: 1000 });
    assert.equal((await verifier.verify(earlier)).subject, 'svc-a');
    assert.equal((await verifier.verify(await accessToken(dev, 'svc-a', 'svc-a-secret'))).subject, 'svc-a');
  });

  it('refuses a key file that holds no private keys', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}');
    await assert.rejects(startDevIssuer({ jwksFile: bad, clients }), /expected a JSON Web Key Set of private/);
  });

  it('listens on loopback only', async () => {
    await assert.rejects(startDevIssuer({ host: '0.0.0.0', clients }), /loopback only/);
  });
});
