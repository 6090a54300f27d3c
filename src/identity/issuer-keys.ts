import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwksCache,
  type ExportedJWKSCache,
  type JWKSCacheInput,
  type JWTVerifyGetKey,
} from 'jose';
import { InvalidToken } from '../errors.js';
import { discoverJwksUri } from './discovery.js';

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;
type LocalKeys = ReturnType<typeof createLocalJWKSet>;

/** How long the last JWKS fetched stays usable while the issuer cannot be reached. */
const STALE_LIMIT_MS = 24 * 3600_000;

export interface IssuerKeysOptions {
  /** Least time between two JWKS fetches caused by unknown kids, and between two failed discoveries. */
  cooldownMs: number;
  timeoutMs: number;
  /** Age after which the JWKS is fetched again before use (jose's cacheMaxAge). */
  maxAgeMs: number;
}

/**
 * The signing keys of one issuer, for jose's `jwtVerify`. The JWKS location comes from the
 * configuration or from OIDC discovery, looked up on the first token rather than at startup so
 * an issuer that is down never keeps the registry from starting; a failed lookup is retried by
 * a later token, at most once per cooldown so a token flood does not become a discovery flood.
 *
 * A failed JWKS fetch is held to the same cooldown: jose records only successful fetches, so
 * without this every token during an outage would start a fetch of its own and wait out the
 * timeout before falling back to the stale keys (CONTRACT §4: at most one refetch per issuer
 * per cooldown).
 */
export class IssuerKeys {
  #remote: RemoteKeys | undefined;
  #discovering: Promise<RemoteKeys> | undefined;
  #discoveryFailedAt = Number.NEGATIVE_INFINITY;
  #fetchFailedAt = Number.NEGATIVE_INFINITY;
  /** jose records each successful fetch here (jwks, uat). */
  readonly #fetched: JWKSCacheInput = {};
  #stale: { uat: number; keys: LocalKeys } | undefined;

  constructor(
    private readonly issuer: string,
    jwksUri: string | undefined,
    private readonly opts: IssuerKeysOptions,
  ) {
    if (jwksUri !== undefined) this.#remote = this.#remoteKeys(new URL(jwksUri));
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = this.#remote ?? (await this.#discover());
    if (this.#coolingDown(this.#fetchFailedAt)) {
      // Do not even ask jose: it would fetch again whenever its set is aged or lacks the kid.
      return this.#fallback(header, token, new Error('JWKS fetch failed recently'));
    }
    try {
      return await remote(header, token);
    } catch (e) {
      if (isAboutTheToken(e)) throw e;
      this.#fetchFailedAt = Date.now();
      return this.#fallback(header, token, e);
    }
  };

  /**
   * Leases are renewed with tokens, so an issuer outage must not stop every renewal: the keys
   * last seen stay good for a while. Without any, fail at once rather than wait on the issuer.
   */
  #fallback(header: Parameters<JWTVerifyGetKey>[0], token: Parameters<JWTVerifyGetKey>[1], cause: unknown) {
    const stale = this.#staleKeys();
    if (stale) return stale(header, token);
    throw unavailable(this.issuer, cause);
  }

  #coolingDown(failedAt: number): boolean {
    return Date.now() - failedAt < this.opts.cooldownMs;
  }

  #remoteKeys(url: URL): RemoteKeys {
    return createRemoteJWKSet(url, {
      cooldownDuration: this.opts.cooldownMs,
      timeoutDuration: this.opts.timeoutMs,
      cacheMaxAge: this.opts.maxAgeMs,
      [jwksCache]: this.#fetched,
    });
  }

  #staleKeys(): LocalKeys | undefined {
    const { uat, jwks } = this.#fetched as Partial<ExportedJWKSCache>;
    if (uat === undefined || jwks === undefined || Date.now() - uat > STALE_LIMIT_MS) return undefined;
    if (this.#stale?.uat !== uat) this.#stale = { uat, keys: createLocalJWKSet(jwks) };
    return this.#stale.keys;
  }

  #discover(): Promise<RemoteKeys> {
    if (this.#discovering) return this.#discovering;
    if (this.#coolingDown(this.#discoveryFailedAt)) {
      return Promise.reject(unavailable(this.issuer, new Error('discovery failed recently')));
    }
    const pending = discoverJwksUri(this.issuer, this.opts.timeoutMs).then(
      (url) => (this.#remote = this.#remoteKeys(url)),
      (e: unknown) => {
        this.#discoveryFailedAt = Date.now();
        throw unavailable(this.issuer, e);
      },
    );
    this.#discovering = pending;
    void pending.finally(() => (this.#discovering = undefined)).catch(() => undefined);
    return pending;
  }
}

/** These say the token names no usable key; anything else (timeouts, HTTP errors, a broken set) is the issuer's. */
function isAboutTheToken(e: unknown): boolean {
  return (
    e instanceof errors.JWKSNoMatchingKey ||
    e instanceof errors.JWKSMultipleMatchingKeys ||
    e instanceof errors.JOSENotSupported
  );
}

function unavailable(issuer: string, cause: unknown): InvalidToken {
  const err = new InvalidToken('token issuer keys unavailable', 'jwks_unavailable');
  err.cause = { issuer, error: cause }; // for the server's logs only
  return err;
}
