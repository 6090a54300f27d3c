/** Who holds leases: the *name* of a configured issuer and the value of its subject claim. */
export interface Principal {
  issuer: string;
  subject: string;
}

/** Who did something, for the audit log: a principal, an admin, or the registry itself. */
export type Actor = { kind: 'principal'; principal: Principal } | { kind: 'admin'; name: string } | { kind: 'system' };

export function actorName(a: Actor): string {
  switch (a.kind) {
    case 'principal':
      return `${a.principal.issuer}:${a.principal.subject}`;
    case 'admin':
      return `admin:${a.name}`;
    case 'system':
      return 'system';
  }
}

export type EndReason = 'released' | 'revoked' | 'superseded' | 'expired';

/** A lease as stored. Times are milliseconds since the Unix epoch, from the store's clock. */
export interface Lease {
  id: string;
  pool: string;
  node: number;
  generation: number;
  principal: Principal;
  instance?: string;
  issuedAt: number;
  expiresAt: number;
  notBefore: number;
  natsPublicKey?: string;
  endedAt?: number;
  endReason?: EndReason;
}

/** A pin: an admin's standing assignment of one node of a pool to one principal. */
export interface Mapping {
  pool: string;
  node: number;
  principal: Principal;
  note?: string;
  createdAt: number;
  createdBy: string;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  pool?: string;
  node?: number;
  leaseId?: string;
  detail: Record<string, unknown>;
}
