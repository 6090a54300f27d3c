/**
 * The Store port: what the registry needs from persistence, as a short list of operations.
 *
 * Contract for every implementation:
 * - `transaction(fn)` runs `fn` as one atomic unit: its writes commit together or not at all, and
 *   it is isolated from concurrent units. SQLite runs units one at a time and commits those that
 *   arrive together in one transaction (group commit: one fsync for all, each unit in a savepoint
 *   so one that fails leaves its neighbours alone, none answered before the commit is durable).
 *   PostgreSQL runs units concurrently: a claimed node, a lease being changed and the grants of
 *   one principal are locked; audit entries get their ids when the feed is read, so paging with
 *   `after` never skips an entry without serializing COMMITs (postgres-audit.ts).
 *   `fn` may only await the `StoreTx` it is given: never the network, never a timer. Reads it
 *   starts together (`Promise.all`) may share a round trip; they run in the order they were called.
 *   The store may run `fn` more than once (after a connection lost before COMMIT, or a lost race),
 *   so `fn` has no effect outside `tx` but its return value.
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
import type { NodeRanges } from '../snowflake/layout.js';

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

/** Where allocation looks: a pool's name and its configured node ranges (nodes outside them are never offered). */
export interface PoolRef {
  name: string;
  nodes: NodeRanges;
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

/** Expired callout user records a unit that adds one also drops: cleanup paid for by the writes. */
export const CALLOUT_PRUNE_BATCH = 16;

/**
 * What a unit may read and write. Every read is an indexed lookup: none reads a whole pool, so a
 * grant costs the same in a pool of 1,024 nodes or of 4 M, with few leases or millions.
 * "Free" means: no unended lease holds it. Node rows exist for nodes that were ever granted or
 * pinned, and for the pool's nodes in order as far as `coldestFreeNode` needed to look.
 */
export interface StoreTx {
  now(): number;
  getLease(id: string): Promise<Lease | undefined>;
  /** Whether any lease, ended or not, was granted with this NATS user key. */
  natsKeyUsed(publicKey: string): Promise<boolean>;
  /** Unended leases of a principal: in one pool, or in all pools. */
  activeLeasesOf(principal: Principal, pool?: string): Promise<Lease[]>;
  /**
   * How many principals of `issuer` hold an unended lease in the pool (for an issuer's
   * maxPrincipals). Reads that issuer's leases only; on PostgreSQL, grants that ask take turns.
   */
  holders(pool: string, issuer: string): Promise<number>;
  /** The unended lease on a node, if any (its expiry may have passed unnoticed). */
  activeLeaseOn(pool: string, node: number): Promise<Lease | undefined>;
  /** Unended leases of a pool whose expiry is at or before `now`, earliest first. */
  expiredIn(pool: string, now: number, limit: number): Promise<Lease[]>;
  /** A node's history; undefined when it was never granted or pinned. */
  nodeState(pool: string, node: number): Promise<NodeState | undefined>;
  /**
   * A free node pinned to `principal`: the lowest whose floor has passed (`lastEnd` undefined or at
   * most `readyBy`), or with `readyBy` undefined the one whose floor passes soonest.
   */
  freePinnedNode(pool: PoolRef, principal: Principal, readyBy: number | undefined): Promise<NodeState | undefined>;
  /** Whether any node of the pool is pinned to `principal`. */
  hasPins(pool: string, principal: Principal): Promise<boolean>;
  /** The free, unpinned node `principal` held last among those whose `lastEnd` is at most `readyBy`. */
  previousNode(pool: PoolRef, principal: Principal, readyBy: number): Promise<NodeState | undefined>;
  /** The coldest free unpinned node: never granted first (lowest number), then the least recently ended. */
  coldestFreeNode(pool: PoolRef): Promise<NodeState | undefined>;
  /** The earliest expiry of an unended lease in the pool (on a node pinned to `principal` only, if `pinnedOnly`). */
  earliestExpiry(pool: string, principal: Principal, pinnedOnly: boolean): Promise<number | undefined>;
  /** Inserts a granted lease: its node's generation becomes `lease.generation` and the lease holds it. */
  insertLease(lease: Lease): Promise<void>;
  setExpiry(id: string, expiresAt: number): Promise<void>;
  /** Ends a lease, frees its node and raises the node's `lastEnd` to `floorEnd`. */
  endLease(lease: Lease, endedAt: number, reason: EndReason, floorEnd: number): Promise<void>;
  getPin(pool: string, node: number): Promise<Mapping | undefined>;
  putPin(m: Mapping): Promise<void>;
  deletePin(pool: string, node: number): Promise<boolean>;
  audit(e: NewAuditEntry): Promise<void>;
  /**
   * Records a user key the NATS auth callout issued a JWT for under this lease, valid until
   * `expiresAt`: ending the lease revokes it (`calloutUsersOf`). Drops records whose JWTs have
   * expired, a few at a time.
   */
  addCalloutUser(leaseId: string, publicKey: string, expiresAt: number): Promise<void>;
}

/**
 * What a unit reads first, said up front: a store whose round trips cost (PostgreSQL) sends it
 * with BEGIN, and the unit's first such reads are answered from it. A lease unit opens with
 * `getLease(lease)`; a grant with `natsKeyUsed(natsPublicKey)` (when it has one),
 * `expiredIn(pool, now, expired)` and `activeLeasesOf(principal, pool)`, started together.
 */
export type UnitOpening =
  { lease: string } | { grant: { principal: Principal; pool: string; natsPublicKey?: string; expired: number } };

export interface Store {
  transaction<T>(fn: (tx: StoreTx) => Promise<T>, opening?: UnitOpening): Promise<T>;
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
  /** The user keys the auth callout issued under these leases whose JWTs are valid after `liveAfter`. */
  calloutUsersOf(leaseIds: readonly string[], liveAfter: number): Promise<string[]>;
  /** How many callout users of unended leases hold a JWT valid after `now` (the revocation budget's share). */
  liveCalloutUsers(now: number): Promise<number>;
  /** Leases whose expiry passed without an end recorded. */
  expiredUnended(now: number, limit: number): Promise<Lease[]>;
  natsState: NatsStateStore;
  /** Throws when the store cannot be reached, or its last write failed and it still cannot write (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
