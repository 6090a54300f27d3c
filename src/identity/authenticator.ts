import { createHash, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { AdminConfig, AdminRole, IssuerConfig } from '../config/types.js';
import { ClaimsMismatch, Forbidden } from '../errors.js';
import type { Actor, Principal } from '../registry/types.js';
import { bearerToken } from './bearer.js';
import { boundClaimsMismatch } from './claims.js';
import { claimAt } from './pointer.js';
import type { TokenVerifier, VerifiedToken } from './verifier.js';

export interface ServiceIdentity {
  principal: Principal;
  issuer: IssuerConfig;
  claims: JWTPayload;
  /** The lease instance the token names, used when a request names none. */
  instance?: string;
}

/**
 * Who is calling, from an Authorization header: a service principal, an admin or viewer, or
 * neither. A token that cannot be verified is 401; a verified token that may not do this is 403.
 *
 * Roles: the bootstrap token is an admin; so is a principal listed in `admin.principals` with
 * role admin, or a token of `admin.issuer` whose role claim holds `adminRole`. A viewer (listed,
 * or holding `viewerRole`) may use the read-only admin routes only.
 */
export class Authenticator {
  readonly #bootstrapDigest: Buffer | undefined;
  readonly #listed: Map<string, AdminRole>;
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly admins: AdminConfig,
  ) {
    this.#bootstrapDigest = admins.bootstrapToken ? sha256(admins.bootstrapToken) : undefined;
    this.#listed = new Map();
    for (const p of admins.principals ?? []) {
      const key = principalKey(p);
      if (this.#listed.get(key) !== 'admin') this.#listed.set(key, p.role);
    }
  }

  /** A workload: a verified token whose issuer's bound claims all match. */
  async service(authorization: string | undefined): Promise<ServiceIdentity> {
    const token = await this.#trusted(bearerToken(authorization));
    return {
      principal: principalOf(token),
      issuer: token.issuer,
      claims: token.claims,
      ...(token.instance !== undefined ? { instance: token.instance } : {}),
    };
  }

  /** A caller holding `need` (default admin): an admin may do what a viewer may. */
  async admin(authorization: string | undefined, need: AdminRole = 'admin'): Promise<Actor> {
    const raw = bearerToken(authorization);
    if (this.#isBootstrap(raw)) return { kind: 'admin', name: 'bootstrap' };
    const token = await this.#trusted(raw);
    const role = this.#roleOf(token);
    if (role === undefined) throw new Forbidden(`${need} role required`);
    if (need === 'admin' && role !== 'admin') throw new Forbidden('admin role required; this token is a viewer');
    return adminActor(token);
  }

  /** Either kind, for routes both may read (lineage, pool listing). */
  async any(authorization: string | undefined): Promise<Actor> {
    const raw = bearerToken(authorization);
    if (this.#isBootstrap(raw)) return { kind: 'admin', name: 'bootstrap' };
    const token = await this.#trusted(raw);
    return this.#roleOf(token) ? adminActor(token) : { kind: 'principal', principal: principalOf(token) };
  }

  /**
   * Bound claims are checked for admin tokens too: they say which tokens of an issuer snowgate
   * trusts at all (a GitHub Actions issuer without them would admit any repository's workflow).
   */
  async #trusted(raw: string): Promise<VerifiedToken> {
    const token = await this.verifier.verify(raw);
    const mismatch = boundClaimsMismatch(token.claims, token.issuer.claims);
    if (mismatch !== undefined) throw new ClaimsMismatch(mismatch, token.issuer.name);
    return token;
  }

  #isBootstrap(raw: string): boolean {
    // Equal-length digests, so timingSafeEqual reveals neither the token nor its length.
    return this.#bootstrapDigest !== undefined && timingSafeEqual(sha256(raw), this.#bootstrapDigest);
  }

  #roleOf(token: VerifiedToken): AdminRole | undefined {
    const listed = this.#listed.get(principalKey(principalOf(token)));
    if (listed === 'admin') return listed;
    const { issuer, roleClaim, adminRole, viewerRole } = this.admins;
    if (issuer !== undefined && token.issuer.name === issuer) {
      const value = claimAt(token.claims, roleClaim);
      const roles: unknown[] = Array.isArray(value) ? value : [value];
      if (roles.includes(adminRole)) return 'admin';
      if (viewerRole !== undefined && roles.includes(viewerRole)) return 'viewer';
    }
    return listed;
  }
}

function principalOf(token: VerifiedToken): Principal {
  return { issuer: token.issuer.name, subject: token.subject };
}

function principalKey(p: Principal): string {
  return JSON.stringify([p.issuer, p.subject]);
}

function adminActor(token: VerifiedToken): Actor {
  return { kind: 'admin', name: `${token.issuer.name}:${token.subject}` };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
