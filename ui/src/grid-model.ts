/**
 * The pool grid's model: one state per node, from the active leases and the pins. Kept free of
 * the DOM (and tested under Node) so the canvas only draws what this decides.
 */

export const FREE = 0;
export const LEASED = 1;
export const PINNED = 2;
/** Leased, but its floor (`notBefore`) is still ahead: the holder may not mint yet. */
export const WAITING = 3;
export type CellState = typeof FREE | typeof LEASED | typeof PINNED | typeof WAITING;

export const STATE_NAMES = ['free', 'leased', 'pinned', 'waiting for its floor'] as const;

export interface GridLease {
  node: number;
  notBefore: string;
}
export interface GridPin {
  node: number;
}

export interface GridModel<L, P> {
  states: Uint8Array;
  leaseAt: Map<number, L>;
  pinAt: Map<number, P>;
  counts: [free: number, leased: number, pinned: number, waiting: number];
}

/** A leased node counts as leased even when pinned: the pin shows in its details. */
export function gridModel<L extends GridLease, P extends GridPin>(
  nodeBits: number,
  leases: readonly L[],
  pins: readonly P[],
  nowMs: number,
): GridModel<L, P> {
  const size = 2 ** nodeBits;
  const states = new Uint8Array(size);
  const pinAt = new Map<number, P>();
  const leaseAt = new Map<number, L>();
  for (const p of pins) {
    if (p.node < 0 || p.node >= size) continue;
    pinAt.set(p.node, p);
    states[p.node] = PINNED;
  }
  for (const l of leases) {
    if (l.node < 0 || l.node >= size) continue;
    leaseAt.set(l.node, l);
    states[l.node] = Date.parse(l.notBefore) > nowMs ? WAITING : LEASED;
  }
  const counts: GridModel<L, P>['counts'] = [0, 0, 0, 0];
  for (const s of states) counts[s as CellState]++;
  return { states, leaseAt, pinAt, counts };
}

/** Columns of the grid: a square for an even number of bits, twice as wide as tall for odd. */
export function gridColumns(nodeBits: number): number {
  return 2 ** Math.ceil(nodeBits / 2);
}

/** The node under a point of the grid, or undefined outside it. */
export function nodeAt(x: number, y: number, cell: number, columns: number, size: number): number | undefined {
  if (x < 0 || y < 0) return undefined;
  const col = Math.floor(x / cell);
  const row = Math.floor(y / cell);
  if (col >= columns) return undefined;
  const node = row * columns + col;
  return node < size ? node : undefined;
}
