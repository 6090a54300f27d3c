/** Occupancy over time as a small SVG line: 0 at the bottom, the whole pool at the top. */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const w = 240;
  const h = 40;
  const n = values.length;
  const points = values
    .map((v, i) => `${n < 2 ? w : ((i / (n - 1)) * w).toFixed(1)},${(h - 2 - v * (h - 4)).toFixed(1)}`)
    .join(' ');
  return (
    <svg class="sparkline" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={label}>
      <line x1="0" y1={h - 2} x2={w} y2={h - 2} class="axis" />
      {n > 0 && <polyline points={points} class="line" />}
    </svg>
  );
}
