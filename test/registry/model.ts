/**
 * A small reference model of CONTRACT §4's lease rules, written from the contract and DESIGN's
 * uniqueness argument, not from src/registry: what each operation must answer, and what state it
 * leaves. Where the contract leaves a choice (which of several equally good nodes), the model
 * answers with the set of acceptable nodes and then follows the registry's pick.
 */

export const TTL = 10_000;
export const SKEW = 1000;
export const MAX_PER_PRINCIPAL = 2;
export const NODES = [0, 1, 2, 3, 4, 5];

export interface MLease {
  id: string;
  node: number;
  generation: number;
  principal: string;
  instance?: string;
  expiresAt: number;
  notBefore: number;
}

interface MNode {
  generation: number;
  /** The latest end of any ended lease: the release instant, else the expiry. */
  lastEnd?: number;
  lastPrincipal?: string;
}

export type Outcome =
  | { ok: true; nodes: Set<number>; generation: (node: number) => number; notBefore: (node: number) => number }
  | { ok: false; error: string };

export class Model {
  now = Date.parse('2025-01-01T00:00:00.000Z');
  /** Unended leases; one past its expiry counts as ended at it, whether or not the registry noticed. */
  private readonly unended = new Map<string, MLease>();
  private readonly ended = new Set<string>();
  private readonly owners = new Map<string, string>();
  private readonly nodes = new Map<number, MNode>();
  readonly pins = new Map<number, string>();

  /** Leases that hold a node now. */
  active(): MLease[] {
    this.expire();
    return [...this.unended.values()];
  }

  private expire(): void {
    for (const l of [...this.unended.values()]) if (l.expiresAt <= this.now) this.end(l, l.expiresAt);
  }

  private end(l: MLease, floorEnd: number): void {
    this.unended.delete(l.id);
    this.ended.add(l.id);
    const n = this.nodes.get(l.node)!;
    n.lastEnd = Math.max(n.lastEnd ?? -Infinity, floorEnd);
  }

  /** Ended before allocation in the same unit: the superseded lease, whose floor then ends at its expiry. */
  private pending?: MLease;

  private lastEnd(node: number): number | undefined {
    const e = this.nodes.get(node)?.lastEnd;
    const p = this.pending?.node === node ? this.pending.expiresAt : undefined;
    return e === undefined ? p : p === undefined ? e : Math.max(e, p);
  }

  private floor(node: number): number {
    const e = this.lastEnd(node);
    return e === undefined ? this.now - SKEW : Math.max(e + SKEW, this.now - SKEW);
  }

  /** What an acquire must answer; `commit` then records the registry's pick. */
  acquire(
    principal: string,
    dynamic: boolean,
    instance?: string,
    node?: number,
  ): { outcome: Outcome; superseded?: string } {
    const active = this.active();
    const mine = active.filter((l) => l.principal === principal);
    const superseded = instance === undefined ? undefined : mine.find((l) => l.instance === instance);
    this.pending = superseded;
    try {
      return this.allocate(principal, dynamic, active, mine, superseded, node);
    } finally {
      this.pending = undefined;
    }
  }

  private allocate(
    principal: string,
    dynamic: boolean,
    active: MLease[],
    mine: MLease[],
    superseded: MLease | undefined,
    node: number | undefined,
  ): { outcome: Outcome; superseded?: string } {
    if (mine.length - (superseded ? 1 : 0) >= MAX_PER_PRINCIPAL)
      return { outcome: { ok: false, error: 'PrincipalLimit' } };
    const holder = (n: number) => active.find((l) => l.node === n && l.id !== superseded?.id);
    if (superseded && node !== undefined && holder(node)) return { outcome: { ok: false, error: 'NodeConflict' } };
    const leased = new Set(active.filter((l) => l.id !== superseded?.id).map((l) => l.node));
    // The floors of this answer are read now, while the superseded lease counts as ended.
    const floors = new Map(NODES.map((n) => [n, this.floor(n)]));
    const ok = (nodes: number[]): Outcome => ({
      ok: true,
      nodes: new Set(nodes),
      generation: (n) => (this.nodes.get(n)?.generation ?? 0) + 1,
      notBefore: (n) => floors.get(n)!,
    });
    const result = (outcome: Outcome) => ({ outcome, ...(superseded ? { superseded: superseded.id } : {}) });

    if (node !== undefined) {
      const pin = this.pins.get(node);
      if (!NODES.includes(node)) return { outcome: { ok: false, error: 'InvalidRequest' } };
      if (pin !== undefined && pin !== principal) return { outcome: { ok: false, error: 'NodeConflict' } };
      if (leased.has(node)) return { outcome: { ok: false, error: 'NodeConflict' } };
      if (pin === undefined && !dynamic) return { outcome: { ok: false, error: 'Forbidden' } };
      return result(ok([node]));
    }
    const myPins = [...this.pins].filter(([, p]) => p === principal).map(([n]) => n);
    if (!dynamic && myPins.length === 0) return { outcome: { ok: false, error: 'Forbidden' } };
    const freePins = myPins.filter((n) => !leased.has(n));
    const passed = (n: number) => this.floor(n) <= this.now;
    const free = NODES.filter((n) => !leased.has(n) && !this.pins.has(n));
    const lowest = (ns: number[], key: (n: number) => number) => {
      const min = Math.min(...ns.map(key));
      return ns.filter((n) => key(n) === min);
    };
    const lastEnd = (n: number) => this.lastEnd(n) ?? -Infinity;

    // 1. a free pinned node of the principal whose floor has passed
    if (freePins.some(passed)) return result(ok(freePins.filter(passed)));
    if (dynamic) {
      // 2. the principal's own previous node, the one it left last
      const previous = free.filter((n) => this.nodes.get(n)?.lastPrincipal === principal && passed(n));
      if (previous.length) return result(ok(lowest(previous, (n) => -lastEnd(n))));
      // 3. the coldest free node: never granted, else the longest idle
      const fresh = free.filter((n) => !this.nodes.has(n) || this.nodes.get(n)!.generation === 0);
      if (fresh.length) return result(ok(fresh));
      const cold = free.filter(passed);
      if (cold.length) return result(ok(lowest(cold, lastEnd)));
    }
    // 4. only floors still ahead: the one that frees soonest, pins first
    if (freePins.length) return result(ok(lowest(freePins, (n) => this.floor(n))));
    if (dynamic && free.length) return result(ok(lowest(free, (n) => this.floor(n))));
    return result({ ok: false, error: 'PoolExhausted' });
  }

  /** Records a grant the registry made (after `acquire` said it was acceptable). */
  commit(l: MLease, superseded?: string): void {
    if (superseded !== undefined) {
      const old = this.unended.get(superseded)!;
      this.end(old, old.expiresAt);
    }
    this.unended.set(l.id, l);
    this.owners.set(l.id, l.principal);
    this.nodes.set(l.node, { ...this.nodes.get(l.node), generation: l.generation, lastPrincipal: l.principal });
  }

  renew(id: string, principal: string): { error: string } | { expiresAt: number } {
    this.expire();
    if (!this.owners.has(id)) return { error: 'NotFound' };
    if (this.owners.get(id) !== principal) return { error: 'Forbidden' };
    const l = this.unended.get(id);
    if (!l) return { error: 'LeaseGone' };
    l.expiresAt = this.now + TTL;
    return { expiresAt: l.expiresAt };
  }

  release(id: string, principal: string): { error?: string } {
    this.expire();
    if (!this.owners.has(id)) return { error: 'NotFound' };
    if (this.owners.get(id) !== principal) return { error: 'Forbidden' };
    const l = this.unended.get(id);
    if (l) this.end(l, this.now);
    return {};
  }

  /** An admin's revocation: the holder may mint until its expiry, so that is the floor's end. */
  revoke(id: string): { error?: string; reason?: string } {
    const l = this.unended.get(id);
    const reason = l && l.expiresAt <= this.now ? 'expired' : l ? 'revoked' : undefined;
    this.expire();
    if (!this.owners.has(id)) return { error: 'NotFound' };
    const still = this.unended.get(id);
    if (still) this.end(still, still.expiresAt);
    return reason !== undefined ? { reason } : {};
  }

  pin(node: number, principal: string): { error?: string; result?: 'created' | 'unchanged' } {
    if (!NODES.includes(node)) return { error: 'InvalidRequest' };
    const existing = this.pins.get(node);
    if (existing !== undefined && existing !== principal) return { error: 'NodeConflict' };
    const holder = this.active().find((l) => l.node === node);
    if (holder && holder.principal !== principal) return { error: 'NodeConflict' };
    if (existing !== undefined) return { result: 'unchanged' };
    this.pins.set(node, principal);
    return { result: 'created' };
  }

  unpin(node: number): { error?: string } {
    if (!this.pins.has(node)) return { error: 'NotFound' };
    this.pins.delete(node);
    return {};
  }
}
