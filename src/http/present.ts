/** How domain objects look on the wire: RFC 3339 times with milliseconds, IDs as decimal strings. */
import type { PoolConfig } from '../config/types.js';
import type { Lease, Mapping, AuditEntry } from '../registry/types.js';

export const iso = (ms: number): string => new Date(ms).toISOString();

export function layoutJson(p: PoolConfig) {
  return { epoch: iso(p.epochMs), ...p.layout };
}

export function leaseJson(l: Lease, ttlMs: number) {
  return {
    id: l.id,
    pool: l.pool,
    node: l.node,
    generation: l.generation,
    principal: l.principal,
    ...(l.instance !== undefined ? { instance: l.instance } : {}),
    issuedAt: iso(l.issuedAt),
    expiresAt: iso(l.expiresAt),
    // Half the lease: a renewal that fails once still has time for another try.
    renewAfter: iso(l.expiresAt - Math.floor(ttlMs / 2)),
    notBefore: iso(l.notBefore),
  };
}

export function adminLeaseJson(l: Lease, ttlMs: number, now: number) {
  const ended = l.endedAt !== undefined || l.expiresAt <= now;
  return {
    ...leaseJson(l, ttlMs),
    state: ended ? 'ended' : 'active',
    endedAt: l.endedAt !== undefined ? iso(l.endedAt) : l.expiresAt <= now ? iso(l.expiresAt) : null,
    endReason: l.endReason ?? (l.expiresAt <= now ? 'expired' : null),
    natsPublicKey: l.natsPublicKey ?? null,
  };
}

export function mappingJson(m: Mapping) {
  return {
    pool: m.pool,
    node: m.node,
    principal: m.principal,
    note: m.note ?? null,
    createdAt: iso(m.createdAt),
    createdBy: m.createdBy,
  };
}

export function auditJson(e: AuditEntry) {
  return {
    id: e.id,
    at: iso(e.at),
    actor: e.actor,
    action: e.action,
    ...(e.pool !== undefined ? { pool: e.pool } : {}),
    ...(e.node !== undefined ? { node: e.node } : {}),
    ...(e.leaseId !== undefined ? { leaseId: e.leaseId } : {}),
    detail: e.detail,
  };
}
