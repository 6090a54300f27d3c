import { createHash, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { AdminConfig, IssuerConfig } from '../config/types.js';
import { Forbidden } from '../errors.js';
import type { Actor, Principal } from '../registry/types.js';
import { bearerToken } from './bearer.js';
import { boundClaimsMismatch } from './claims.js';
import { claimAt } from './pointer.js';
import type { TokenVerifier, VerifiedToken } from './verifier.js';

export interface ServiceIdentity {
  principal: Principal;
  issuer: IssuerConfig;
  claims: JWTPayload;
}

/**
 * Who is calling, from an Authorization header: a service principal, an admin, or neither.
 * A token that cannot be verified is 401; a verified token that may not do this is 403.
 */
export class Authenticator {
  readonly #bootstrapDigest: Buffer | undefined;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly admins: AdminConfig,
  ) {
    this.#bootstrapDigest = admins.bootstrapToken ? sha256(admins.bootstrapToken) : undefined;
  }

  /** A workload: a verified token whose issuer's bound claims all match. */
  async service(authorization: string | undefined): Promise<ServiceIdentity> {
    const token = await this.#trusted(bearerToken(authorization));
    return { principal: principalOf(token), issuer: token.issuer, claims: token.claims };
  }

  /** The bootstrap token, or a token of the admin issuer carrying the admin role. */
  async admin(authorization: string | undefined): Promise<Actor> {
    const raw = bearerToken(authorization);
    if (this.#isBootstrap(raw)) return { kind: 'admin', name: 'bootstrap' };
    const token = await this.#trusted(raw);
    if (!this.#hasAdminRole(token)) throw new Forbidden('admin role required');
    return adminActor(token);
  }

  /** Either kind, for routes both may read (lineage, pool listing). */
  async any(authorization: string | undefined): Promise<Actor> {
    const raw = bearerToken(authorization);
    if (this.#isBootstrap(raw)) return { kind: 'admin', name: 'bootstrap' };
    const token = await this.#trusted(raw);
    return this.#hasAdminRole(token) ? adminActor(token) : { kind: 'principal', principal: principalOf(token) };
  }

  /**
   * Bound claims are checked for admin tokens too: they say which tokens of an issuer snowgate
   * trusts at all (a GitHub Actions issuer without them would admit any repository's workflow).
   */
  async #trusted(raw: string): Promise<VerifiedToken> {
    const token = await this.verifier.verify(raw);
    const mismatch = boundClaimsMismatch(token.claims, token.issuer.claims);
    if (mismatch !== undefined) throw new Forbidden(mismatch);
    return token;
  }

  #isBootstrap(raw: string): boolean {
    // Equal-length digests, so timingSafeEqual reveals neither the token nor its length.
    return this.#bootstrapDigest !== undefined && timingSafeEqual(sha256(raw), this.#bootstrapDigest);
  }

  #hasAdminRole(token: VerifiedToken): boolean {
    const { issuer, roleClaim, adminRole } = this.admins;
    if (issuer === undefined || token.issuer.name !== issuer) return false;
    const roles = claimAt(token.claims, roleClaim);
    return Array.isArray(roles) ? roles.includes(adminRole) : roles === adminRole;
  }
}

function principalOf(token: VerifiedToken): Principal {
  return { issuer: token.issuer.name, subject: token.subject };
}

function adminActor(token: VerifiedToken): Actor {
  return { kind: 'admin', name: `${token.issuer.name}:${token.subject}` };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
