/** Leases: filter, and revoke one or every lease of a principal, after a confirmation naming them. */
import { useState } from 'preact/hooks';
import { call, enc, get, q, who, type Lease, type Pool } from '../api.js';
import { fromNow, when } from '../format.js';
import { filterSubmit, href, submitForm, usePoll, type Route } from '../hooks.js';
import { useConfirm } from '../parts/confirm.js';
import { Done, Problem } from '../parts/notice.js';

const POLL_MS = 2000;
const SHOWN = 500;

export function LeasesPage({ route }: { route: Route }) {
  const p = route.params;
  const filters = {
    pool: p.get('pool') ?? '',
    issuer: p.get('issuer') ?? '',
    subject: p.get('subject') ?? '',
    state: p.get('state') ?? (p.get('lease') ? '' : 'active'),
  };
  const highlight = p.get('lease') ?? undefined;
  const [done, setDone] = useState<string | undefined>(undefined);
  const [dialog, confirm] = useConfirm();
  const pools = usePoll(async () => (await get<Pool[]>('/v1/pools')).data, 0, []);
  const path = `/v1/admin/leases${q(filters)}`;
  const leases = usePoll(
    async () => {
      const r = await get<Lease[]>(path);
      return r.fresh ? r.data : undefined;
    },
    POLL_MS,
    [path],
  );

  const revoke = (l: Lease) =>
    confirm({
      title: 'Revoke this lease?',
      body: (
        <p>
          Lease <code>{l.id}</code> of <strong>{who(l.principal)}</strong> on {l.pool}/{l.node}
          {l.instance ? ` (instance ${l.instance})` : ''} ends now; its NATS user is revoked.
        </p>
      ),
      action: 'Revoke lease',
      run: async () => {
        const r = await call<{ nats?: string }>('POST', `/v1/admin/leases/${enc(l.id)}/revoke`, {
          reason: 'revoked in the console',
        });
        setDone(
          `Revoked lease ${l.id} (${l.pool}/${l.node})${r?.nats === 'pending' ? '; the NATS servers have not confirmed yet' : ''}.`,
        );
        leases.refresh();
      },
    });

  const revokeAll = async (l: Lease) => {
    const active = (
      await get<Lease[]>(
        `/v1/admin/leases${q({ issuer: l.principal.issuer, subject: l.principal.subject, state: 'active' })}`,
      )
    ).data;
    confirm({
      title: `Revoke every lease of ${who(l.principal)}?`,
      body: (
        <>
          <p>
            {active.length} active lease{active.length === 1 ? '' : 's'} of <strong>{who(l.principal)}</strong> end now:
          </p>
          <ul class="names">
            {active.slice(0, 20).map((a) => (
              <li key={a.id}>
                {a.pool}/{a.node}
                {a.instance ? ` (${a.instance})` : ''}
              </li>
            ))}
            {active.length > 20 && <li>and {active.length - 20} more</li>}
          </ul>
        </>
      ),
      action: `Revoke ${active.length}`,
      run: async () => {
        const r = await call<{ revoked: number }>('POST', '/v1/admin/principals/revoke', {
          ...l.principal,
          reason: 'revoked in the console',
        });
        setDone(`Revoked ${r?.revoked ?? 0} lease(s) of ${who(l.principal)}.`);
        leases.refresh();
      },
    });
  };

  const rows = leases.data ?? [];
  const shown = highlight ? [...rows].sort((a, b) => Number(b.id === highlight) - Number(a.id === highlight)) : rows;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Leases</h1>
      <form class="filters" onSubmit={filterSubmit('leases')} aria-label="Filter leases" key={JSON.stringify(filters)}>
        <label>
          Pool
          <select name="pool" onChange={submitForm}>
            <option value="">any</option>
            {(pools.data ?? []).map((p) => (
              <option key={p.name} value={p.name} selected={p.name === filters.pool}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Issuer
          <input name="issuer" defaultValue={filters.issuer} />
        </label>
        <label>
          Subject
          <input name="subject" defaultValue={filters.subject} />
        </label>
        <label>
          State
          <select name="state" onChange={submitForm}>
            {[
              ['active', 'active'],
              ['ended', 'ended'],
              ['', 'any'],
            ].map(([value, text]) => (
              <option key={value} value={value} selected={value === filters.state}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <Done text={done} />
      <Problem error={leases.error} />
      {leases.data && (
        <p class="hint">
          {leases.data.length} lease{leases.data.length === 1 ? '' : 's'}
          {leases.data.length > SHOWN ? `; the first ${SHOWN} shown: narrow the filters` : ''}. Live: refreshed every{' '}
          {POLL_MS / 1000} s.
        </p>
      )}
      <table class="list">
        <caption class="sr-only">Leases</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Holder</th>
            <th scope="col">Instance</th>
            <th scope="col">Gen</th>
            <th scope="col">Issued</th>
            <th scope="col">Expires / ended</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, SHOWN).map((l) => (
            <tr key={l.id} class={l.id === highlight ? 'highlight' : undefined} data-lease={l.id}>
              <td>
                <a href={href('pools', { pool: l.pool, node: l.node })}>
                  {l.pool}/{l.node}
                </a>
              </td>
              <td>{who(l.principal)}</td>
              <td>{l.instance ?? '—'}</td>
              <td>{l.generation}</td>
              <td>{when(l.issuedAt)}</td>
              <td>{l.state === 'active' ? `${when(l.expiresAt)} (${fromNow(l.expiresAt)})` : when(l.endedAt)}</td>
              <td>{l.state === 'active' ? 'active' : `ended: ${l.endReason ?? '?'}`}</td>
              <td class="row-actions">
                {l.state === 'active' && (
                  <>
                    <button type="button" onClick={() => revoke(l)} aria-label={`Revoke lease on ${l.pool}/${l.node}`}>
                      Revoke
                    </button>
                    <button
                      type="button"
                      onClick={() => void revokeAll(l).catch((e: unknown) => setDone(String(e)))}
                      aria-label={`Revoke all leases of ${who(l.principal)}`}
                    >
                      Revoke all
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {dialog}
    </section>
  );
}
