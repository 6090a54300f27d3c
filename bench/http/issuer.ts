/**
 * A token issuer for the HTTP bench: an RS256 key, its JWKS on a loopback HTTP server, and one
 * token per principal, signed ahead so signing never lands inside a measured window.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface BenchIssuer {
  issuer: string;
  jwksUri: string;
  publicKey: CryptoKey;
  token(subject: string): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<BenchIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    publicKey,
    token: (subject) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(subject)
        .setAudience('snowgate')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
