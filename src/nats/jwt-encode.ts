/**
 * Synchronous NATS JWT (v2, "ed25519-nkey") encoding, the same bytes as @nats-io/jwt's `encode`.
 *
 * Why not call the library: its encoders are async (the jti hash goes through WebCrypto), so a
 * grant could not sign inside a synchronous store transaction; they stamp `iat` from Date.now(),
 * where account JWTs need an `iat` that strictly increases; and they base64 the JSON with btoa,
 * which throws on (or mis-encodes) non-ASCII names. Field order, header, jti (SHA-512, base64)
 * and signature input follow the library, and tests compare the output byte for byte.
 */
import { createHash } from 'node:crypto';
import type { ClaimsData } from '@nats-io/jwt';

/** What signs: a NativeSigner, or any @nats-io/nkeys KeyPair. */
export interface JwtSigner {
  getPublicKey(): string;
  sign(data: Uint8Array): Uint8Array;
}

export interface UnsignedClaims<T> {
  exp?: number;
  nbf?: number;
  aud?: string;
  name: string;
  sub: string;
  nats: T;
}

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' })).toString('base64url');

/**
 * `fill`, when given, completes the claims' JSON before it is hashed and signed: a part too large
 * to serialise twice is written in where a placeholder stands (account.ts's revocations).
 */
export function signJwt<T extends object>(
  claims: UnsignedClaims<T>,
  signer: JwtSigner,
  iatSeconds: number,
  fill?: (json: string) => string,
): string {
  // Key order as @nats-io/jwt builds it: exp, nbf, aud, name, sub, nats, iss, iat, jti.
  const body: Partial<ClaimsData<T>> & Record<string, unknown> = {
    exp: claims.exp,
    nbf: claims.nbf,
    aud: claims.aud ?? 'NATS',
    name: claims.name,
    sub: claims.sub,
    nats: claims.nats,
    iss: signer.getPublicKey(),
    iat: iatSeconds,
  };
  // The jti hashes the claims without it, and comes last: the claims are serialised once (an
  // account JWT carries every revocation).
  const serialised = JSON.stringify(body);
  const json = fill ? fill(serialised) : serialised;
  const jti = createHash('sha512').update(json).digest('base64');
  const payload = `${HEADER}.${Buffer.from(`${json.slice(0, -1)},"jti":"${jti}"}`).toString('base64url')}`;
  const signature = Buffer.from(signer.sign(Buffer.from(payload))).toString('base64url');
  return `${payload}.${signature}`;
}

/** The claims of a JWT, unverified: for reading back what this process signed. */
export function readClaims<T = unknown>(jwt: string): ClaimsData<T> {
  const part = jwt.split('.')[1];
  if (part === undefined) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as ClaimsData<T>;
}
