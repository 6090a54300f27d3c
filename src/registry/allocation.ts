/**
 * Which node to grant, asked of the store's indexes inside the grant's transaction: each step is
 * one indexed lookup, so a grant costs the same whatever the pool's size or the leases held.
 *
 * Order: a pinned node of the principal, then the principal's own previous node, then the coldest
 * free node (never granted first, then the longest idle). Nodes whose floor has passed come before
 * any whose floor is still ahead; a node with a floor ahead is still granted when nothing better is
 * free, because its `notBefore` makes the holder wait rather than collide.
 */
import type { PoolConfig } from '../config/types.js';
import { Forbidden, InvalidRequest, NodeConflict, PoolExhausted } from '../errors.js';
import { inRanges } from '../snowflake/layout.js';
import type { NodeState, PoolRef, StoreTx } from '../store/port.js';
import type { Principal } from './types.js';

export interface AllocationInput {
  pool: PoolConfig;
  principal: Principal;
  now: number;
  maxClockSkewMs: number;
  /** false: pinned nodes only. */
  dynamic: boolean;
  requestedNode?: number;
}

export interface Allocation {
  node: number;
  generation: number;
  notBefore: number;
}

export const samePrincipal = (a: Principal, b: Principal): boolean => a.issuer === b.issuer && a.subject === b.subject;

/** The floor of a node: after the end of every earlier lease plus skew, and never far behind now. */
export function floorOf(state: NodeState | undefined, now: number, skew: number): number {
  const sinceNow = now - skew;
  return state?.lastEnd === undefined ? sinceNow : Math.max(state.lastEnd + skew, sinceNow);
}

/**
 * Picks a node; expects leases whose expiry passed on the nodes it may consider to be ended already
 * (the registry does that first). Throws the contract's errors when none can be granted.
 */
export async function allocate(tx: StoreTx, input: AllocationInput): Promise<Allocation> {
  const { pool, principal, now, maxClockSkewMs: skew } = input;
  const ref: PoolRef = { name: pool.name, nodes: pool.nodes };
  const grant = (node: number, state: NodeState | undefined): Allocation => ({
    node,
    generation: (state?.generation ?? 0) + 1,
    notBefore: floorOf(state, now, skew),
  });

  if (input.requestedNode !== undefined) {
    const node = input.requestedNode;
    if (!inRanges(pool.nodes, node)) throw new InvalidRequest(`node ${node} is not in pool ${pool.name}`);
    const pin = await tx.getPin(pool.name, node);
    if (pin && !samePrincipal(pin.principal, principal)) {
      throw new NodeConflict(`node ${node} is pinned to another principal`);
    }
    if (await tx.activeLeaseOn(pool.name, node)) throw new NodeConflict(`node ${node} is leased`);
    if (!pin && !input.dynamic)
      throw new Forbidden(`node ${node} is not pinned to you and your issuer grants pinned nodes only`);
    return grant(node, await tx.nodeState(pool.name, node));
  }

  // A floor has passed when the node's last lease ended at least maxClockSkew ago.
  const readyBy = now - skew;
  const passed = (s: NodeState) => s.lastEnd === undefined || s.lastEnd <= readyBy;
  const readyPin = await tx.freePinnedNode(ref, principal, readyBy);
  if (readyPin) return grant(readyPin.node, readyPin);
  if (!input.dynamic && !(await tx.hasPins(pool.name, principal))) {
    throw new Forbidden(`your issuer grants pinned nodes only, and none in pool ${pool.name} is pinned to you`);
  }
  let coldest: NodeState | undefined;
  if (input.dynamic) {
    const previous = await tx.previousNode(ref, principal, readyBy);
    if (previous) return grant(previous.node, previous);
    coldest = await tx.coldestFreeNode(ref);
    if (coldest && passed(coldest)) return grant(coldest.node, coldest);
  }

  // Only nodes whose floor is still ahead: take the one that frees soonest, pins first. The
  // coldest free node is the one whose floor passes soonest.
  const waitingPin = await tx.freePinnedNode(ref, principal, undefined);
  if (waitingPin) return grant(waitingPin.node, waitingPin);
  if (coldest) return grant(coldest.node, coldest);

  // Retry-After: when the earliest lease that could free a node for this principal expires (a
  // lower bound for a dynamic principal: that node may be pinned to someone else).
  const nextFree = await tx.earliestExpiry(pool.name, principal, !input.dynamic);
  const retryAfter = nextFree !== undefined ? Math.max(1, Math.ceil((nextFree - now) / 1000)) : 60;
  throw new PoolExhausted(`no node of pool ${pool.name} can be granted now`, retryAfter);
}
