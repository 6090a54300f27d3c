/** Lineage: a Snowflake ID's time, node and sequence, and the lease that minted it. */
import { useState } from 'preact/hooks';
import { enc, get, q, who, type Lineage, type Pool } from '../api.js';
import { when } from '../format.js';
import { href, usePoll, type Route } from '../hooks.js';
import { Problem } from '../parts/notice.js';

export function LineagePage({ route }: { route: Route }) {
  const pools = usePoll(async () => (await get<Pool[]>('/v1/pools')).data, 0, []);
  const [id, setId] = useState(route.params.get('id') ?? '');
  const [pool, setPool] = useState(route.params.get('pool') ?? '');
  const [result, setResult] = useState<Lineage | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const look = async (e: Event) => {
    e.preventDefault();
    setResult(undefined);
    setError(undefined);
    const digits = id.trim();
    if (!/^\d{1,20}$/.test(digits)) {
      setError(new Error('A Snowflake ID is a decimal number of up to 20 digits'));
      return;
    }
    try {
      setResult((await get<Lineage>(`/v1/lineage/${enc(digits)}${q({ pool })}`)).data);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Lineage</h1>
      <form class="create" onSubmit={(e) => void look(e)} aria-label="Look up a Snowflake ID">
        <label>
          Snowflake ID
          <input
            name="id"
            value={id}
            inputMode="numeric"
            autoComplete="off"
            onInput={(e) => setId(e.currentTarget.value)}
            required
          />
        </label>
        <label>
          Pool
          <select value={pool} onChange={(e) => setPool(e.currentTarget.value)}>
            <option value="">default</option>
            {(pools.data ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Look up</button>
      </form>
      <Problem error={error} />
      {result && (
        <div class="lineage" role="region" aria-label="Lineage of the ID">
          <dl>
            <dt>ID</dt>
            <dd>
              <code>{result.id}</code>
            </dd>
            <dt>time</dt>
            <dd>{when(result.timestamp)}</dd>
            <dt>node</dt>
            <dd>
              <a href={href('pools', { pool: result.pool, node: result.node })}>
                {result.pool}/{result.node}
              </a>
            </dd>
            <dt>sequence</dt>
            <dd>{result.sequence}</dd>
            <dt>minted under</dt>
            <dd>
              {result.lease ? (
                <>
                  lease <a href={href('leases', { lease: result.lease.id, pool: result.pool })}>{result.lease.id}</a> of{' '}
                  {who(result.lease.principal)}
                  {result.lease.instance ? ` (${result.lease.instance})` : ''}, {when(result.lease.issuedAt)} to{' '}
                  {when(result.lease.endedAt ?? result.lease.expiresAt)}
                </>
              ) : (
                'no lease held that node at that time'
              )}
            </dd>
          </dl>
        </div>
      )}
    </section>
  );
}
