// A real OIDC issuer for the tests: discovery and JWKS over HTTP on 127.0.0.1:0, tokens signed
// by jose, and switches to make it fail, rotate keys, or lie about who it is.
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

export interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

export interface MintOptions {
  sub?: string | null;
  aud?: string | string[];
  iss?: string;
  alg?: 'RS256' | 'ES256';
  /** null: no kid header at all. */
  kid?: string | null;
  /** Sign with this key instead of the one published under kid. */
  key?: CryptoKey;
  expIn?: number;
  nbfIn?: number;
  /** Seconds from now for iat (default 0). */
  iatIn?: number;
  /** The typ header (default JWT); null: none. */
  typ?: string | null;
  noExp?: boolean;
  claims?: JWTPayload;
}

export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  stats: { jwks: number; discovery: number };
  /** Answer discovery with 500 while set. */
  failDiscovery: boolean;
  /** While set, the JWKS endpoint answers 500, or never answers at all. */
  failJwks: false | 'error' | 'hang';
  /** Discovery names this issuer instead of the real one. */
  discoveryIssuer?: string;
  publish(kid: string, kp: KeyPair, alg?: string): Promise<void>;
  mint(opts?: MintOptions): Promise<string>;
  none(): string;
  hsWithPublicKey(): Promise<string>;
  close(): Promise<void>;
}

export const newRsa = (): Promise<KeyPair> => generateKeyPair('RS256', { extractable: true });

/** `path`: the issuer URL's path, as Okta (/oauth2/default) and Entra ID (/TENANT/v2.0) have one. */
export async function startTestIssuer(opts: { path?: string } = {}): Promise<TestIssuer> {
  const base = opts.path ?? '';
  const rsa = await newRsa();
  const ec = await generateKeyPair('ES256', { extractable: true });
  const signing = new Map<string, KeyPair>();
  const published: JWK[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === `${base}/.well-known/openid-configuration`) {
      t.stats.discovery++;
      if (t.failDiscovery) return void res.writeHead(500).end();
      const body = { issuer: t.discoveryIssuer ?? t.issuer, jwks_uri: t.jwksUri, response_types_supported: ['code'] };
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    if (path === `${base}/jwks`) {
      t.stats.jwks++;
      if (t.failJwks === 'error') return void res.writeHead(500).end();
      if (t.failJwks === 'hang') return; // close() ends the connection
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}`;

  const t: TestIssuer = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    stats: { jwks: 0, discovery: 0 },
    failDiscovery: false,
    failJwks: false,
    async publish(kid, kp, alg = 'RS256') {
      signing.set(kid, kp);
      published.push({ ...(await exportJWK(kp.publicKey)), kid, alg, use: 'sig' });
    },
    async mint(opts = {}) {
      const alg = opts.alg ?? 'RS256';
      const kid = opts.kid === undefined ? (alg === 'ES256' ? 'ec-1' : 'rsa-1') : opts.kid;
      const key = opts.key ?? signing.get(kid ?? '')?.privateKey ?? (alg === 'ES256' ? ec : rsa).privateKey;
      const now = Math.floor(Date.now() / 1000);
      let jwt = new SignJWT({ ...opts.claims })
        .setProtectedHeader({
          alg,
          ...(opts.typ === null ? {} : { typ: opts.typ ?? 'JWT' }),
          ...(kid === null ? {} : { kid }),
        })
        .setIssuer(opts.iss ?? issuer)
        .setAudience(opts.aud ?? 'snowgate')
        .setIssuedAt(now + (opts.iatIn ?? 0))
        .setJti(randomUUID());
      if (opts.sub !== null) jwt = jwt.setSubject(opts.sub ?? 'svc-a');
      if (!opts.noExp) jwt = jwt.setExpirationTime(now + (opts.expIn ?? 300));
      if (opts.nbfIn !== undefined) jwt = jwt.setNotBefore(now + opts.nbfIn);
      return jwt.sign(key);
    },
    none() {
      const now = Math.floor(Date.now() / 1000);
      const h = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const p = base64url.encode(JSON.stringify({ iss: issuer, sub: 'svc-a', aud: 'snowgate', exp: now + 300 }));
      return `${h}.${p}.`;
    },
    async hsWithPublicKey() {
      const now = Math.floor(Date.now() / 1000);
      const pem = await exportSPKI(rsa.publicKey);
      const h = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }));
      const p = base64url.encode(JSON.stringify({ iss: issuer, sub: 'svc-a', aud: 'snowgate', exp: now + 300 }));
      return `${h}.${p}.${createHmac('sha256', pem).update(`${h}.${p}`).digest('base64url')}`;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
  await t.publish('rsa-1', rsa);
  await t.publish('ec-1', ec, 'ES256');
  return t;
}
