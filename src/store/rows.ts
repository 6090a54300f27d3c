/** Row shapes shared by the SQL stores, and their mapping to domain objects. */
import type { AuditEntry, EndReason, Lease, Mapping } from '../registry/types.js';
import type { NodeRanges } from '../snowflake/layout.js';
import type { NodeState } from './port.js';

export interface LeaseRow {
  id: string;
  pool: string;
  node: number;
  generation: number;
  issuer: string;
  subject: string;
  instance: string | null;
  issued_at: number;
  expires_at: number;
  not_before: number;
  nats_public_key: string | null;
  ended_at: number | null;
  end_reason: string | null;
}

export function leaseFromRow(r: LeaseRow): Lease {
  return {
    id: r.id,
    pool: r.pool,
    node: Number(r.node),
    generation: Number(r.generation),
    principal: { issuer: r.issuer, subject: r.subject },
    ...(r.instance !== null ? { instance: r.instance } : {}),
    issuedAt: Number(r.issued_at),
    expiresAt: Number(r.expires_at),
    notBefore: Number(r.not_before),
    ...(r.nats_public_key !== null ? { natsPublicKey: r.nats_public_key } : {}),
    ...(r.ended_at !== null ? { endedAt: Number(r.ended_at) } : {}),
    ...(r.end_reason !== null ? { endReason: r.end_reason as EndReason } : {}),
  };
}

export function leaseToRow(l: Lease): LeaseRow {
  return {
    id: l.id,
    pool: l.pool,
    node: l.node,
    generation: l.generation,
    issuer: l.principal.issuer,
    subject: l.principal.subject,
    instance: l.instance ?? null,
    issued_at: l.issuedAt,
    expires_at: l.expiresAt,
    not_before: l.notBefore,
    nats_public_key: l.natsPublicKey ?? null,
    ended_at: l.endedAt ?? null,
    end_reason: l.endReason ?? null,
  };
}

export interface MappingRow {
  pool: string;
  node: number;
  issuer: string;
  subject: string;
  note: string | null;
  created_at: number;
  created_by: string;
}

export function mappingFromRow(r: MappingRow): Mapping {
  return {
    pool: r.pool,
    node: Number(r.node),
    principal: { issuer: r.issuer, subject: r.subject },
    ...(r.note !== null ? { note: r.note } : {}),
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
  };
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  pool: string | null;
  node: number | null;
  lease_id: string | null;
  detail: string;
}

export function auditFromRow(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    actor: r.actor,
    action: r.action,
    ...(r.pool !== null ? { pool: r.pool } : {}),
    ...(r.node !== null ? { node: Number(r.node) } : {}),
    ...(r.lease_id !== null ? { leaseId: r.lease_id } : {}),
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

export interface NodeRow {
  node: number;
  generation: number;
  last_end: number | string | null;
  last_issuer: string | null;
  last_subject: string | null;
}

export function nodeFromRow(r: NodeRow): NodeState {
  return {
    node: Number(r.node),
    generation: Number(r.generation),
    ...(r.last_end !== null ? { lastEnd: Number(r.last_end) } : {}),
    ...(r.last_issuer !== null && r.last_subject !== null
      ? { lastPrincipal: { issuer: r.last_issuer, subject: r.last_subject } }
      : {}),
  };
}

/** The pool's ranges as the node cursor records them: when they change, the cursor starts over. */
export function rangesKey(ranges: NodeRanges): string {
  return ranges.map(([lo, hi]) => `${lo}-${hi}`).join(',');
}

/** Node rows are created this many at a time, in node order, as allocation reaches them. */
export const NODE_CHUNK = 1024;

/** The next chunk of nodes to create from `next` on: [from, to], or undefined when the pool is all there. */
export function nextChunk(ranges: NodeRanges, next: number): [number, number] | undefined {
  const r = ranges.find(([, hi]) => hi >= next);
  if (!r) return undefined;
  const from = Math.max(r[0], next);
  return [from, Math.min(r[1], from + NODE_CHUNK - 1)];
}
