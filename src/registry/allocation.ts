/**
 * Which node to grant: pure rules over a snapshot of one pool, taken inside the store transaction.
 *
 * Order: a pinned node of the principal, then the principal's own previous node, then the coldest
 * free node (never granted first, then the longest idle). Nodes whose floor has passed come before
 * any whose floor is still ahead; a node with a floor ahead is still granted when nothing better is
 * free, because its `notBefore` makes the holder wait rather than collide.
 */
import type { PoolConfig } from '../config/types.js';
import { Forbidden, InvalidRequest, NodeConflict, PoolExhausted } from '../errors.js';
import { inRanges, nodesOf } from '../snowflake/layout.js';
import type { NodeState } from '../store/port.js';
import type { Lease, Mapping, Principal } from './types.js';

export interface AllocationInput {
  pool: PoolConfig;
  /** Leases holding a node right now (expired ones already ended, the superseded one left out). */
  active: Lease[];
  pins: Mapping[];
  nodes: Map<number, NodeState>;
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

export function allocate(input: AllocationInput): Allocation {
  const { pool, principal, now, maxClockSkewMs: skew } = input;
  const leased = new Map(input.active.map((l) => [l.node, l]));
  const pinnedTo = new Map(input.pins.map((m) => [m.node, m.principal]));
  const grant = (node: number): Allocation => {
    const state = input.nodes.get(node);
    return { node, generation: (state?.generation ?? 0) + 1, notBefore: floorOf(state, now, skew) };
  };

  if (input.requestedNode !== undefined) {
    const node = input.requestedNode;
    if (!inRanges(pool.nodes, node)) throw new InvalidRequest(`node ${node} is not in pool ${pool.name}`);
    const pin = pinnedTo.get(node);
    if (pin && !samePrincipal(pin, principal)) throw new NodeConflict(`node ${node} is pinned to another principal`);
    if (leased.has(node)) throw new NodeConflict(`node ${node} is leased`);
    if (!pin && !input.dynamic)
      throw new Forbidden(`node ${node} is not pinned to you and your issuer grants pinned nodes only`);
    return grant(node);
  }

  const floorPassed = (n: number) => floorOf(input.nodes.get(n), now, skew) <= now;
  const mine = input.pins
    .filter((m) => samePrincipal(m.principal, principal) && inRanges(pool.nodes, m.node) && !leased.has(m.node))
    .map((m) => m.node);
  if (!input.dynamic && input.pins.every((m) => !samePrincipal(m.principal, principal))) {
    throw new Forbidden(`your issuer grants pinned nodes only, and none in pool ${pool.name} is pinned to you`);
  }

  const readyPin = mine.find(floorPassed);
  if (readyPin !== undefined) return grant(readyPin);

  if (input.dynamic) {
    const free = (n: number) => !leased.has(n) && !pinnedTo.has(n) && inRanges(pool.nodes, n);
    const touched = [...input.nodes.values()].filter((s) => free(s.node));
    const ended = (s: NodeState) => s.lastEnd ?? -Infinity;
    const previous = touched
      .filter((s) => s.lastPrincipal && samePrincipal(s.lastPrincipal, principal) && floorPassed(s.node))
      .sort((a, b) => ended(b) - ended(a))[0];
    if (previous) return grant(previous.node);
    for (const n of nodesOf(pool.nodes)) if (free(n) && !input.nodes.has(n)) return grant(n);
    const coldest = touched.filter((s) => floorPassed(s.node)).sort((a, b) => ended(a) - ended(b))[0];
    if (coldest) return grant(coldest.node);
  }

  // Only nodes whose floor is still ahead: take the one that frees soonest, pins first.
  const waitingPin = mine.sort(
    (a, b) => floorOf(input.nodes.get(a), now, skew) - floorOf(input.nodes.get(b), now, skew),
  )[0];
  if (waitingPin !== undefined) return grant(waitingPin);
  if (input.dynamic) {
    const soonest = [...input.nodes.values()]
      .filter((s) => !leased.has(s.node) && !pinnedTo.has(s.node) && inRanges(pool.nodes, s.node))
      .sort((a, b) => floorOf(a, now, skew) - floorOf(b, now, skew))[0];
    if (soonest) return grant(soonest.node);
  }

  const candidates = input.active.filter((l) => {
    const pin = pinnedTo.get(l.node);
    return pin ? samePrincipal(pin, principal) : input.dynamic;
  });
  const nextFree = Math.min(...candidates.map((l) => l.expiresAt));
  const retryAfter = Number.isFinite(nextFree) ? Math.max(1, Math.ceil((nextFree - now) / 1000)) : 60;
  throw new PoolExhausted(`no node of pool ${pool.name} can be granted now`, retryAfter);
}
