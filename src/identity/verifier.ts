import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions, type JWTVerifyResult } from 'jose';
import type { IssuerConfig } from '../config/types.js';
import { InvalidToken, PayloadTooLarge } from '../errors.js';
import { looksLikeAwsIamRequest, parseSignedCall } from './aws-iam-request.js';
import { awsClaims, getCallerIdentity } from './aws-sts.js';
import { IssuerKeys } from './issuer-keys.js';
import { claimAt } from './pointer.js';
import { instanceFrom, parseSubjectTemplate, renderSubject, type SubjectTemplate } from './subject.js';
import { toInvalidToken } from './token-errors.js';
import { checkTokenPolicy, DEFAULT_MAX_TOKEN_LIFETIME_MS } from './token-policy.js';
import { VerifiedTokens } from './verified-tokens.js';

/** CONTRACT §4: a token over 16 KiB is refused before anything parses it. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_SUBJECT_LENGTH = 1024;

/** Shared by every request that presents the same token (see VerifiedTokens): never changed. */
export interface VerifiedToken {
  readonly issuer: IssuerConfig;
  readonly subject: string;
  readonly claims: Readonly<JWTPayload>;
  /** The lease instance the token names (its issuer's instanceClaim), if any. */
  readonly instance?: string;
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
  /** Per request to STS, for aws-iam issuers (default 5 s). */
  stsTimeoutMs?: number;
  /** Verified tokens remembered, so a repeated token costs no signature check (default 10,000; 0: none). */
  verifiedCacheSize?: number;
  /** Longest a verified token is trusted without a new check (default 60 s; never past its exp). */
  verifiedMaxAgeMs?: number;
}

interface Trusted {
  config: IssuerConfig;
  keys: IssuerKeys;
  options: JWTVerifyOptions;
  subject: SubjectTemplate | undefined;
}

/** Verifies bearer tokens of the configured issuers, each against its own keys and policy. */
export class TokenVerifier {
  readonly #byIssuer = new Map<string, Trusted>();
  /** aws-iam issuers by STS endpoint origin. */
  readonly #byEndpoint = new Map<string, IssuerConfig>();
  readonly #clockToleranceMs: number;
  readonly #stsTimeoutMs: number;
  readonly #verified: VerifiedTokens<VerifiedToken>;
  /** Checks under way, by token. */
  readonly #pending = new Map<string, Promise<VerifiedToken>>();

  constructor(issuers: readonly IssuerConfig[], opts: TokenVerifierOptions) {
    this.#clockToleranceMs = opts.clockToleranceMs;
    this.#stsTimeoutMs = opts.stsTimeoutMs ?? 5_000;
    this.#verified = new VerifiedTokens(opts.verifiedCacheSize ?? 10_000, opts.verifiedMaxAgeMs ?? 60_000);
    const keyOpts = {
      cooldownMs: opts.jwksCooldownMs ?? 30_000,
      timeoutMs: opts.jwksTimeoutMs ?? 5_000,
      maxAgeMs: opts.jwksMaxAgeMs ?? 600_000,
    };
    for (const config of issuers) {
      // Two configs for one iss would make the choice between them depend on list order.
      const clash = this.#byIssuer.get(config.issuer)?.config ?? this.#byEndpoint.get(config.issuer);
      if (clash) throw new TypeError(`issuers ${clash.name} and ${config.name} have the same issuer URL`);
      if (config.kind === 'aws-iam') {
        this.#byEndpoint.set(config.issuer, config);
        continue;
      }
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
        subject: config.subjectTemplate === undefined ? undefined : parseSubjectTemplate(config.subjectTemplate),
      });
    }
  }

  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH) throw new PayloadTooLarge('token over 16 KiB');
    if (token.length === 0) throw new InvalidToken('missing bearer token', 'missing');
    if (this.#byEndpoint.size > 0 && looksLikeAwsIamRequest(token)) return this.#verifyAwsIam(token);
    const known = this.#verified.get(token, Date.now());
    if (known) return known;
    // A fleet rolling out sends the same token many times at once: one check for all of them.
    let pending = this.#pending.get(token);
    if (!pending) {
      pending = this.#verifyJwt(token).finally(() => this.#pending.delete(token));
      this.#pending.set(token, pending);
    }
    return pending;
  }

  async #verifyJwt(token: string): Promise<VerifiedToken> {
    const trusted = this.#byIssuer.get(unverifiedIssuer(token));
    if (!trusted) throw new InvalidToken('token issuer not accepted', 'unknown_issuer');
    try {
      const { payload, protectedHeader } = await verifyWithKeys(token, trusted);
      const nowMs = Date.now();
      checkTokenPolicy(protectedHeader, payload, {
        nowMs,
        clockToleranceMs: this.#clockToleranceMs,
        maxTokenLifetimeMs: trusted.config.maxTokenLifetimeMs ?? DEFAULT_MAX_TOKEN_LIFETIME_MS,
      });
      const subject = trusted.subject
        ? renderSubject(trusted.subject, payload)
        : claimAt(payload, trusted.config.subjectClaim);
      const result = verified(trusted.config, subject, payload);
      // exp is required (requiredClaims) and jose accepts it up to the tolerance past it.
      this.#verified.set(token, result, nowMs, payload.exp! * 1000 + this.#clockToleranceMs);
      return result;
    } catch (e) {
      throw withIssuer(toInvalidToken(e), trusted.config.name);
    }
  }

  /** A signed sts:GetCallerIdentity request: checked here, verified by STS. */
  async #verifyAwsIam(token: string): Promise<VerifiedToken> {
    let endpoint: string;
    try {
      endpoint = new URL(
        String((JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { url?: unknown }).url),
      ).origin;
    } catch {
      throw new InvalidToken('token malformed', 'malformed');
    }
    const config = this.#byEndpoint.get(endpoint);
    if (!config) throw new InvalidToken('token issuer not accepted', 'unknown_issuer');
    try {
      const call = parseSignedCall(token, config.issuer, config.audience);
      const claims = awsClaims(await getCallerIdentity(call, this.#stsTimeoutMs));
      if (!claims) throw new InvalidToken('STS named a caller snowgate cannot key', 'bad_subject');
      return verified(config, claimAt(claims, config.subjectClaim), claims);
    } catch (e) {
      throw withIssuer(toInvalidToken(e), config.name);
    }
  }
}

function verified(config: IssuerConfig, subject: unknown, claims: JWTPayload): VerifiedToken {
  if (!isStorableSubject(subject)) throw new InvalidToken('token subject missing or invalid', 'bad_subject');
  const instance = config.instanceClaim === undefined ? undefined : instanceFrom(claimAt(claims, config.instanceClaim));
  return { issuer: config, subject, claims, ...(instance !== undefined ? { instance } : {}) };
}

/** Names the configured issuer a refusal belongs to, for the per-issuer rejection metrics. */
function withIssuer<E extends Error>(e: E, issuer: string): E {
  if (e instanceof InvalidToken) e.issuer ??= issuer;
  return e;
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

async function verifyWithKeys(token: string, { keys, options }: Trusted): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, keys.getKey, options);
  } catch (e) {
    if (!(e instanceof errors.JWKSMultipleMatchingKeys)) throw e;
    // A token without kid while the issuer publishes several keys for its alg (mid-rotation):
    // jose leaves trying each candidate to the caller.
    let last: unknown = e;
    for await (const key of e) {
      try {
        return await jwtVerify(token, key, options);
      } catch (err) {
        last = err;
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw last;
  }
}
