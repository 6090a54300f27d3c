import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { InvalidToken } from '../errors.js';

/**
 * JWTs meant as bearer credentials: plain JWTs (ID tokens and most access tokens) and RFC 9068
 * access tokens. Anything else with a typ of its own (a logout token, a DPoP proof, a SET) was
 * issued for another purpose and must not pass as a credential. Kubernetes and Okta tokens
 * carry no typ at all.
 */
const BEARER_TYPES = new Set(['jwt', 'at+jwt']);

/** Longest token lifetime (exp minus iat) accepted unless an issuer says otherwise. */
export const DEFAULT_MAX_TOKEN_LIFETIME_MS = 24 * 3600_000;

export interface TokenPolicy {
  nowMs: number;
  clockToleranceMs: number;
  maxTokenLifetimeMs: number;
}

/**
 * What jose leaves to its caller, checked on a token whose signature, issuer, audience and
 * exp already passed: its type, an iat that is not in the future, and a lifetime no longer
 * than the issuer's maxTokenLifetime, so a token minted for ten years is not a key for ten years.
 */
export function checkTokenPolicy(header: JWTHeaderParameters, claims: JWTPayload, policy: TokenPolicy): void {
  if (header.typ !== undefined) {
    const typ = header.typ.toLowerCase().replace(/^application\//, '');
    if (!BEARER_TYPES.has(typ)) throw new InvalidToken('token type not accepted', 'bad_type');
  }
  const now = policy.nowMs / 1000;
  const tolerance = policy.clockToleranceMs / 1000;
  // jose checked that iat, nbf and exp are numbers when present, and that exp is.
  if (claims.iat !== undefined && claims.iat > now + tolerance) {
    throw new InvalidToken('token issued in the future', 'issued_in_future');
  }
  const start = claims.iat ?? claims.nbf ?? now;
  if (claims.exp! - start > policy.maxTokenLifetimeMs / 1000) {
    throw new InvalidToken("token lifetime over the issuer's maxTokenLifetime", 'lifetime_too_long');
  }
}
