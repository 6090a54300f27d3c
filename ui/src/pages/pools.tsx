/** Pools: each pool's nodes as a grid, its counts and its occupancy since this page opened. */
import { useMemo } from 'preact/hooks';
import { get, q, who, type Lease, type Pin, type Pool } from '../api.js';
import { fromNow, when } from '../format.js';
import { gridModel, STATE_NAMES, type CellState } from '../grid-model.js';
import { href, usePoll, type Route } from '../hooks.js';
import { Grid } from '../parts/grid.js';
import { Problem } from '../parts/notice.js';
import { Sparkline } from '../parts/sparkline.js';

/** The grid is live: a new lease shows within a second or so. */
const POLL_MS = 1000;
const HISTORY = 300;
const history = new Map<string, number[]>();

function remember(pools: Pool[]): void {
  for (const p of pools) {
    const h = history.get(p.name) ?? [];
    h.push(p.nodes.total ? (p.nodes.leased + p.nodes.pinned) / p.nodes.total : 0);
    if (h.length > HISTORY) h.shift();
    history.set(p.name, h);
  }
}

export function PoolsPage({ route, theme }: { route: Route; theme: string }) {
  const pools = usePoll(
    async () => {
      const r = await get<Pool[]>('/v1/pools');
      remember(r.data);
      return r.data;
    },
    POLL_MS,
    [],
  );
  const name = route.params.get('pool') ?? pools.data?.[0]?.name;
  const pool = pools.data?.find((p) => p.name === name);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Pools</h1>
      <Problem error={pools.error} />
      {pools.data && (
        <nav aria-label="Pools" class="tabs">
          {pools.data.map((p) => (
            <a key={p.name} href={href('pools', { pool: p.name })} aria-current={p.name === name ? 'page' : undefined}>
              {p.name}
            </a>
          ))}
        </nav>
      )}
      {pool && <PoolView key={pool.name} pool={pool} route={route} theme={theme} />}
    </section>
  );
}

function PoolView({ pool, route, theme }: { pool: Pool; route: Route; theme: string }) {
  const nodes = usePoll(
    async () => {
      const [leases, pins] = await Promise.all([
        get<Lease[]>(`/v1/admin/leases${q({ pool: pool.name, state: 'active' })}`),
        get<Pin[]>(`/v1/admin/mappings${q({ pool: pool.name })}`),
      ]);
      // Both unchanged: keep the last model and draw nothing new.
      if (!leases.fresh && !pins.fresh) return undefined;
      return { leases: leases.data, pins: pins.data };
    },
    POLL_MS,
    [pool.name],
  );
  const model = useMemo(
    () => gridModel(pool.layout.nodeBits, nodes.data?.leases ?? [], nodes.data?.pins ?? [], Date.now()),
    [nodes.data, pool.layout.nodeBits],
  );
  const selectedText = route.params.get('node');
  const selected = selectedText !== null && /^\d+$/.test(selectedText) ? Number(selectedText) : undefined;
  const select = (node: number) => {
    location.replace(href('pools', { pool: pool.name, node }));
  };
  const describe = (node: number) => {
    const l = model.leaseAt.get(node);
    const p = model.pinAt.get(node);
    const state = STATE_NAMES[model.states[node] as CellState];
    const parts = [`node ${node}: ${state}`];
    if (l)
      parts.push(
        `${who(l.principal)}${l.instance ? ` (${l.instance})` : ''}, gen ${l.generation}, expires ${fromNow(l.expiresAt)}`,
      );
    if (p) parts.push(`pinned to ${who(p.principal)}`);
    return parts.join(' · ');
  };
  const [free, leased, pinned, waiting] = model.counts;
  const spark = history.get(pool.name) ?? [];
  const used = pool.nodes.total ? ((pool.nodes.leased + pool.nodes.pinned) / pool.nodes.total) * 100 : 0;
  const pct = used > 0 && used < 10 ? used.toFixed(1) : Math.round(used);
  return (
    <div class="pool">
      <dl class="counts">
        <div>
          <dt>nodes</dt>
          <dd>{pool.nodes.total}</dd>
        </div>
        <div>
          <dt>leased</dt>
          <dd>{pool.nodes.leased}</dd>
        </div>
        <div>
          <dt>pinned</dt>
          <dd>{pool.nodes.pinned}</dd>
        </div>
        <div>
          <dt>free</dt>
          <dd>{pool.nodes.free}</dd>
        </div>
        <div>
          <dt>waiting for floor</dt>
          <dd>{waiting}</dd>
        </div>
        <div>
          <dt>occupancy</dt>
          <dd>
            {pct} %{' '}
            <Sparkline values={spark} label={`Occupancy of ${pool.name} over the last ${spark.length} seconds`} />
          </dd>
        </div>
      </dl>
      <p class="hint">
        Layout {pool.layout.timestampBits}/{pool.layout.nodeBits}/{pool.layout.sequenceBits} bits, epoch{' '}
        {when(pool.layout.epoch)}. Grid: {free} free, {leased} leased, {pinned} pinned, {waiting} waiting.
      </p>
      <Problem error={nodes.error} />
      <div class="pool-body">
        <Grid
          states={model.states}
          nodeBits={pool.layout.nodeBits}
          selected={selected}
          onSelect={select}
          describe={describe}
          label={`Nodes of pool ${pool.name}: ${leased + waiting} leased, ${pinned} pinned, ${free} free`}
          theme={theme}
        />
        <NodeDetails
          pool={pool.name}
          node={selected}
          lease={selected === undefined ? undefined : model.leaseAt.get(selected)}
          pin={selected === undefined ? undefined : model.pinAt.get(selected)}
          state={selected === undefined ? undefined : STATE_NAMES[model.states[selected] as CellState]}
        />
      </div>
    </div>
  );
}

function NodeDetails(props: { pool: string; node: number | undefined; lease?: Lease; pin?: Pin; state?: string }) {
  const { pool, node, lease, pin, state } = props;
  return (
    <aside class="details" aria-live="polite" aria-label="Selected node">
      {node === undefined ? (
        <p>Select a node (click, or focus the grid and use the arrow keys).</p>
      ) : (
        <>
          <h2>
            Node {node} <span class="state">{state}</span>
          </h2>
          {lease && (
            <dl>
              <dt>holder</dt>
              <dd>{who(lease.principal)}</dd>
              <dt>instance</dt>
              <dd>{lease.instance ?? '—'}</dd>
              <dt>generation</dt>
              <dd>{lease.generation}</dd>
              <dt>expires</dt>
              <dd>
                {when(lease.expiresAt)} ({fromNow(lease.expiresAt)})
              </dd>
              <dt>floor</dt>
              <dd>{when(lease.notBefore)}</dd>
              <dt>lease</dt>
              <dd>
                <a href={href('leases', { pool, lease: lease.id })}>{lease.id}</a>
              </dd>
            </dl>
          )}
          {pin && (
            <p>
              Pinned to {who(pin.principal)}
              {pin.note ? ` (“${pin.note}”)` : ''}.
            </p>
          )}
          <p>
            <a href={href('pins', { pool, node })}>{pin ? 'Edit the pin' : 'Pin this node'}</a>
            {' · '}
            <a href={href('audit', { pool, node })}>Its audit entries</a>
          </p>
        </>
      )}
    </aside>
  );
}
