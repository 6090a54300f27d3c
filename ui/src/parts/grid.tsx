/**
 * A pool's nodes on one canvas: 65,536 cells are four fillRect passes, not 65,536 DOM nodes.
 * Hover shows a node; click or the arrow keys select one, whose details the page shows.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { gridColumns, nodeAt, STATE_NAMES, type CellState } from '../grid-model.js';

export interface GridProps {
  states: Uint8Array;
  nodeBits: number;
  selected: number | undefined;
  onSelect: (node: number) => void;
  /** What the tooltip says of a node. */
  describe: (node: number) => string;
  label: string;
  theme: string;
}

const VARS = ['--cell-free', '--cell-leased', '--cell-pinned', '--cell-waiting'] as const;
const MAX_SIDE = 512;

export function Grid({ states, nodeBits, selected, onSelect, describe, label, theme }: GridProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ node: number; x: number; y: number } | undefined>(undefined);
  const size = states.length;
  const columns = gridColumns(nodeBits);
  const rows = Math.ceil(size / columns);
  const cell = Math.max(2, Math.min(16, Math.floor(MAX_SIDE / columns)));
  const gap = cell >= 6 ? 1 : 0;

  useLayoutEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = columns * cell * dpr;
    c.height = rows * cell * dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const style = getComputedStyle(c);
    const colour = (v: string) => style.getPropertyValue(v).trim() || '#888';
    const width = columns * cell;
    const height = rows * cell;
    // Free is the background: drawing costs what is leased or pinned, not the pool's size.
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = colour(VARS[0]);
    ctx.fillRect(0, 0, width, Math.floor(size / columns) * cell);
    if (size % columns) ctx.fillRect(0, Math.floor(size / columns) * cell, (size % columns) * cell, cell);
    if (gap) {
      for (let x = cell - gap; x < width; x += cell) ctx.clearRect(x, 0, gap, height);
      for (let y = cell - gap; y < height; y += cell) ctx.clearRect(0, y, width, gap);
    }
    for (let state = 1; state < VARS.length; state++) {
      ctx.fillStyle = colour(VARS[state]!);
      for (let n = 0; n < size; n++) {
        if (states[n] !== state) continue;
        ctx.fillRect((n % columns) * cell, Math.floor(n / columns) * cell, cell - gap, cell - gap);
      }
    }
    if (selected !== undefined && selected < size) {
      ctx.strokeStyle = style.getPropertyValue('--cell-selected').trim() || '#000';
      ctx.lineWidth = 2;
      const x = (selected % columns) * cell;
      const y = Math.floor(selected / columns) * cell;
      ctx.strokeRect(x - 1, y - 1, cell + 1, cell + 1);
    }
  }, [states, selected, cell, columns, rows, size, gap, theme]);

  useEffect(() => setHover(undefined), [nodeBits]);

  const pointAt = (e: MouseEvent) => {
    const r = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    return { node: nodeAt(x, y, cell, columns, size), x, y };
  };
  const onMove = (e: MouseEvent) => {
    const p = pointAt(e);
    setHover(p.node === undefined ? undefined : { node: p.node, x: p.x, y: p.y });
  };
  const onClick = (e: MouseEvent) => {
    const p = pointAt(e);
    if (p.node !== undefined) onSelect(p.node);
  };
  const onKey = (e: KeyboardEvent) => {
    const at = selected ?? 0;
    const moves: Record<string, number> = {
      ArrowRight: 1,
      ArrowLeft: -1,
      ArrowDown: columns,
      ArrowUp: -columns,
      PageDown: columns * 8,
      PageUp: -columns * 8,
    };
    let next: number | undefined;
    if (e.key in moves) next = selected === undefined ? 0 : at + moves[e.key]!;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = size - 1;
    if (next === undefined) return;
    e.preventDefault();
    onSelect(Math.max(0, Math.min(size - 1, next)));
  };

  return (
    <div class="grid-wrap">
      <canvas
        ref={canvas}
        class="grid"
        width={columns * cell}
        height={rows * cell}
        style={{ width: `${columns * cell}px`, height: `${rows * cell}px` }}
        tabIndex={0}
        role="application"
        aria-roledescription="node grid"
        aria-label={`${label}. Arrow keys move between nodes; the selected node's details follow the grid.`}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(undefined)}
        onClick={onClick}
        onKeyDown={onKey}
      />
      {hover && (
        <div class="tooltip" style={{ left: `${hover.x + 14}px`, top: `${hover.y + 14}px` }} aria-hidden="true">
          {describe(hover.node)}
        </div>
      )}
      <ul class="legend" aria-label="Legend">
        {STATE_NAMES.map((name, s) => (
          <li key={name}>
            <span class={`swatch s${s as CellState}`} aria-hidden="true" />
            {name}
          </li>
        ))}
      </ul>
    </div>
  );
}
