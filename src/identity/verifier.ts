import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { IssuerConfig } from '../config/types.js';
import { InvalidToken, PayloadTooLarge } from '../errors.js';
import { IssuerKeys } from './issuer-keys.js';
import { claimAt } from './pointer.js';
import { toInvalidToken } from './token-errors.js';

/** CONTRACT §4: a token over 16 KiB is refused before anything parses it. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_SUBJECT_LENGTH = 1024;

export interface VerifiedToken {
  issuer: IssuerConfig;
  subject: string;
  claims: JWTPayload;
}

export interface TokenVerifierOptions {
  /** Allowed skew when checking exp and nbf: the registry's maxClockSkew. */
  clockToleranceMs: number;
  /** Least time between JWKS refetches caused by unknown kids (default 30 s). */
  jwksCooldownMs?: number;
  /** Per JWKS or discovery request (default 5 s). */
  jwksTimeoutMs?: number;
  /** Age after which a JWKS is fetched again before use (default 10 min). */
  jwksMaxAgeMs?: number;
}

interface Trusted {
  config: IssuerConfig;
  keys: IssuerKeys;
  options: JWTVerifyOptions;
}

/** Verifies bearer tokens of the configured issuers, each against its own keys and policy. */
export class TokenVerifier {
  readonly #byIssuer = new Map<string, Trusted>();

  constructor(issuers: readonly IssuerConfig[], opts: TokenVerifierOptions) {
    const keyOpts = {
      cooldownMs: opts.jwksCooldownMs ?? 30_000,
      timeoutMs: opts.jwksTimeoutMs ?? 5_000,
      maxAgeMs: opts.jwksMaxAgeMs ?? 600_000,
    };
    for (const config of issuers) {
      // Two configs for one iss would make the choice between them depend on list order.
      const clash = this.#byIssuer.get(config.issuer);
      if (clash) throw new TypeError(`issuers ${clash.config.name} and ${config.name} have the same issuer URL`);
      this.#byIssuer.set(config.issuer, {
        config,
        keys: new IssuerKeys(config.issuer, config.jwksUri, keyOpts),
        options: {
          algorithms: config.algorithms,
          issuer: config.issuer,
          audience: config.audience,
          // jose checks exp only when present; a token without one would never expire.
          requiredClaims: ['exp'],
          clockTolerance: opts.clockToleranceMs / 1000,
        },
      });
    }
  }

  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH) throw new PayloadTooLarge('token over 16 KiB');
    if (token.length === 0) throw new InvalidToken('missing bearer token', 'missing');
    const trusted = this.#byIssuer.get(unverifiedIssuer(token));
    if (!trusted) throw new InvalidToken('token issuer not accepted', 'unknown_issuer');
    let claims: JWTPayload;
    try {
      claims = await verifyWithKeys(token, trusted);
    } catch (e) {
      throw toInvalidToken(e);
    }
    const subject = claimAt(claims, trusted.config.subjectClaim);
    if (!isStorableSubject(subject)) throw new InvalidToken('token subject missing or invalid', 'bad_subject');
    return { issuer: trusted.config, subject, claims };
  }
}

/**
 * The subject becomes the principal, stored as PostgreSQL text and compared there: it cannot
 * hold U+0000 (the insert would fail as a 500), and a lone surrogate would be stored as U+FFFD,
 * so two different subjects would become one principal.
 */
function isStorableSubject(subject: unknown): subject is string {
  return (
    typeof subject === 'string' &&
    subject.length > 0 &&
    subject.length <= MAX_SUBJECT_LENGTH &&
    !subject.includes('\0') &&
    !/\p{Surrogate}/u.test(subject)
  );
}

/** Only to pick the issuer's keys and policy; nothing else trusts it before the signature is checked. */
function unverifiedIssuer(token: string): string {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw new InvalidToken('token malformed', 'malformed');
  }
  if (typeof iss !== 'string') throw new InvalidToken('token has no issuer', 'unknown_issuer');
  return iss;
}

async function verifyWithKeys(token: string, { keys, options }: Trusted): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys.getKey, options)).payload;
  } catch (e) {
    if (!(e instanceof errors.JWKSMultipleMatchingKeys)) throw e;
    // A token without kid while the issuer publishes several keys for its alg (mid-rotation):
    // jose leaves trying each candidate to the caller.
    let last: unknown = e;
    for await (const key of e) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (err) {
        last = err;
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw last;
  }
}
