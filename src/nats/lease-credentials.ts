/**
 * NATS credentials for leases (CONTRACT §5): the user JWT's name, tags, permissions and expiry come
 * from the lease; the authority signs them with the account's active signing key.
 */
import type { NatsConfig } from '../config/types.js';
import type { CredentialsPort, IssuedCredentials, SigningKeysJson } from '../http/ports.js';
import type { Actor, Lease } from '../registry/types.js';
import type { NatsAuthority, RevocationStatus, Rotation } from './authority.js';
import { expandPermissions } from './permissions.js';
import type { GrantGate, GrantSlot } from './revocation-budget.js';
import { formatCreds, newUserCreds } from './user-jwt.js';

export class LeaseCredentials implements CredentialsPort {
  readonly servers: string[];

  constructor(
    private readonly authority: NatsAuthority,
    private readonly config: NatsConfig,
    /** Appends to the audit log (Registry.record). */
    private readonly record: (actor: Actor, action: string, detail: Record<string, unknown>) => Promise<void>,
    private readonly gate?: GrantGate,
  ) {
    this.servers = config.servers;
  }

  /** Room for one more lease's future revocation, or RevocationsFull (503 with Retry-After). */
  admit(): GrantSlot {
    return this.gate?.admit() ?? { granted: () => undefined, abandoned: () => undefined };
  }

  /**
   * Whether the servers confirmed the revocation of these leases' users; undefined when none was
   * revoked. A user whose JWT has expired needs nothing more; a lease that ended just now may not
   * be queued yet (that happens once its transaction has committed): it is pending.
   */
  revocationStatus(leases: Lease[], nowMs = Date.now()): RevocationStatus | undefined {
    const revoked = leases.filter((l) => keysToRevoke([l]).length > 0);
    if (revoked.length === 0) return undefined;
    const live = keysToRevoke(revoked.filter((l) => l.expiresAt > nowMs));
    return live.length === 0 ? 'revoked' : (this.authority.revocations.status(live) ?? 'pending');
  }

  newUser(): { publicKey: string; seed: string } {
    return newUserCreds();
  }

  issue(lease: Lease, seed?: string): IssuedCredentials {
    if (lease.natsPublicKey === undefined) throw new Error(`lease ${lease.id} has no NATS user key`);
    const c = this.authority.issue({
      userPublicKey: lease.natsPublicKey,
      expiresAtMs: lease.expiresAt,
      ...leaseUserClaims(lease, this.config.permissions),
    });
    return { jwt: c.jwt, expiresAt: c.expiresAtMs, ...(seed ? { seed, creds: formatCreds(c.jwt, seed) } : {}) };
  }

  keys(): SigningKeysJson {
    return this.authority.keys();
  }

  /**
   * Audited as soon as the rotation is saved: it then happens whatever the servers do, and a
   * 503 (NatsUnavailable) while they are down must not leave it out of the audit log.
   */
  rotate(actor: Actor): Promise<SigningKeysJson> {
    return this.authority.rotate({ onSaved: (r) => this.record(actor, 'keys.rotated', rotationDetail(r)) });
  }
}

/** What a lease's user JWT says, whoever its user key is (a lease's own, or one the auth callout got). */
export function leaseUserClaims(
  lease: Lease,
  permissions: NatsConfig['permissions'],
): { name: string; pub: string[]; sub: string[]; tags: string[] } {
  const values = {
    pool: lease.pool,
    node: lease.node,
    subject: lease.principal.subject,
    issuer: lease.principal.issuer,
    ...(lease.instance !== undefined ? { instance: lease.instance } : {}),
  };
  return {
    name: `${lease.principal.issuer}:${lease.principal.subject}`,
    pub: expandPermissions(permissions.publish, values),
    sub: expandPermissions(permissions.subscribe, values),
    tags: [`pool:${lease.pool}`, `node:${lease.node}`],
  };
}

/** User keys whose JWTs must stop working now: every end but expiry, where the JWT expires by itself. */
export function keysToRevoke(ended: Lease[]): string[] {
  return ended.filter((l) => l.endReason !== 'expired' && l.natsPublicKey !== undefined).map((l) => l.natsPublicKey!);
}

/** The audit detail of a rotation: the new key signs once the servers hold it, then `replaces` retires. */
export function rotationDetail(rotation: Rotation): Record<string, unknown> {
  return { publicKey: rotation.publicKey, replaces: rotation.replaces };
}
