import { errors } from 'jose';
import { InvalidToken, SnowgateError } from '../errors.js';

/**
 * Turns whatever token verification threw into an InvalidToken with a short, stable `reason`
 * for metrics and a message safe to show a client: jose's own messages name claims, header
 * parameters and key-set internals that a prober has no business learning.
 */
export function toInvalidToken(e: unknown): SnowgateError {
  if (e instanceof SnowgateError) return e;
  const [message, reason] = describe(e);
  const err = new InvalidToken(message, reason);
  err.cause = e; // for the server's logs only
  return err;
}

function describe(e: unknown): [message: string, reason: string] {
  if (e instanceof errors.JWTExpired) return ['token expired', 'expired'];
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return ['token not yet valid', 'not_yet_valid'];
    if (e.claim === 'aud') return ['token audience not accepted', 'bad_audience'];
    if (e.claim === 'iss') return ['token issuer not accepted', 'unknown_issuer'];
    if (e.reason === 'missing') return [`token has no ${e.claim} claim`, `missing_${e.claim}`];
    return ['token claims invalid', 'bad_claims'];
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return ['token algorithm not accepted', 'bad_algorithm'];
  if (e instanceof errors.JOSENotSupported) return ['token algorithm not accepted', 'bad_algorithm'];
  if (e instanceof errors.JWSSignatureVerificationFailed) return ['token signature invalid', 'bad_signature'];
  if (e instanceof errors.JWKSNoMatchingKey) return ['token signing key unknown', 'unknown_kid'];
  if (e instanceof errors.JWKSMultipleMatchingKeys) return ['token signing key ambiguous', 'unknown_kid'];
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return ['token malformed', 'malformed'];
  return ['token could not be verified', 'invalid'];
}
