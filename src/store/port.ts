/**
 * The Store port: what the registry needs from persistence, as a short list of operations.
 *
 * Contract for every implementation:
 * - `transaction(fn)` runs `fn` as one atomic unit: its writes commit together or not at all, and
 *   units never interleave (SQLite: one writer; PostgreSQL: a transaction-scoped advisory lock).
 *   `fn` may only await the `StoreTx` it is given: never the network, never a timer. The store may
 *   run `fn` more than once (after a connection lost before COMMIT, or a lost race), so `fn` has no
 *   effect outside `tx` but its return value.
 * - A store that cannot be used right now (connection lost, server down, file locked, disk full)
 *   fails with `StoreUnavailable` (503 `unavailable`, Retry-After), never another error and never
 *   by crashing the process; it heals by itself once the fault is gone. When a COMMIT's outcome is
 *   unknown the answer is the same 503: the change may have landed (a lease then simply expires).
 * - `tx.now()` is the store's clock, fixed for the whole unit. It is the only clock lease times come
 *   from, so replicas sharing a store agree on them.
 * - At most one lease per (pool, node) is active (not ended); the schema enforces it, so a bug in
 *   the rules fails the transaction instead of handing a node out twice.
 * - A committed unit survives a crash of the process at any later instant.
 */
import type { NatsStateStore } from '../nats/state.js';
import type { AuditEntry, EndReason, Lease, Mapping, Principal } from '../registry/types.js';

/** What the registry remembers of a node that has been granted at least once. */
export interface NodeState {
  node: number;
  /** How many times the node has been granted. */
  generation: number;
  /** The latest end of any ended lease on it: the release instant, or the expiry otherwise. */
  lastEnd?: number;
  /** The principal of the node's latest lease. */
  lastPrincipal?: Principal;
}

/** A pool as the allocation rules see it inside a transaction. */
export interface PoolView {
  /** Leases with no end recorded, including any whose expiry has passed but was not yet noticed. */
  active: Lease[];
  pins: Mapping[];
  nodes: Map<number, NodeState>;
}

export interface LeaseFilter {
  pool?: string;
  issuer?: string;
  subject?: string;
  state?: 'active' | 'ended';
  /** For state filters: the instant that decides whether an unended lease has expired. */
  now?: number;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface StoreTx {
  now(): number;
  poolView(pool: string): Promise<PoolView>;
  getLease(id: string): Promise<Lease | undefined>;
  /** Whether any lease, ended or not, was granted with this NATS user key. */
  natsKeyUsed(publicKey: string): Promise<boolean>;
  /** Unended leases of a principal, in all pools. */
  activeLeasesOf(principal: Principal): Promise<Lease[]>;
  /** Inserts a granted lease and bumps its node's generation to `lease.generation`. */
  insertLease(lease: Lease): Promise<void>;
  setExpiry(id: string, expiresAt: number): Promise<void>;
  /** Ends a lease and raises its node's `lastEnd` to `floorEnd`. */
  endLease(lease: Lease, endedAt: number, reason: EndReason, floorEnd: number): Promise<void>;
  getPin(pool: string, node: number): Promise<Mapping | undefined>;
  putPin(m: Mapping): Promise<void>;
  deletePin(pool: string, node: number): Promise<boolean>;
  audit(e: NewAuditEntry): Promise<void>;
}

export interface Store {
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  now(): Promise<number>;
  getLease(id: string): Promise<Lease | undefined>;
  listLeases(f: LeaseFilter): Promise<Lease[]>;
  listPins(pool?: string): Promise<Mapping[]>;
  listAudit(after: number, limit: number): Promise<AuditEntry[]>;
  /** The lease of that node with the latest generation whose notBefore < atMs <= expiresAt. */
  leaseAt(pool: string, node: number, atMs: number): Promise<Lease | undefined>;
  /** Counts for GET /v1/pools. */
  counts(pool: string, now: number): Promise<{ leased: number; pinned: number; pinnedAndLeased: number }>;
  /** Leases ended at or after `sinceMs` by release, supersession or revocation (not expiry). */
  endedEarlySince(sinceMs: number): Promise<Lease[]>;
  /** Leases whose expiry passed without an end recorded. */
  expiredUnended(now: number, limit: number): Promise<Lease[]>;
  natsState: NatsStateStore;
  /** Throws when the store cannot be reached, or its last write failed and it still cannot write (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
