/** Audit: the log newest first, paged, filtered by action and actor; entries link to their lease or node. */
import { useEffect, useState } from 'preact/hooks';
import { get, q, type AuditEntry } from '../api.js';
import { auditPage, newestId, type AuditFilter, type AuditPage } from '../audit-pages.js';
import { when } from '../format.js';
import { filterSubmit, href, type Route } from '../hooks.js';
import { Problem } from '../parts/notice.js';

const PAGE = 50;
const read = async (after: number, limit: number) =>
  (await get<AuditEntry[]>(`/v1/admin/audit${q({ after, limit })}`)).data;

export function AuditPage({ route }: { route: Route }) {
  const p = route.params;
  const nodeText = p.get('node');
  const filter: AuditFilter = {
    action: p.get('action') ?? '',
    actor: p.get('actor') ?? '',
    pool: p.get('pool') ?? '',
    ...(nodeText && /^\d+$/.test(nodeText) ? { node: Number(nodeText) } : {}),
  };
  // Cursors of the pages seen so far: the first is the newest id, so "Newer" steps back along them.
  const [cursors, setCursors] = useState<number[]>([]);
  const [page, setPage] = useState<AuditPage | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const key = JSON.stringify(filter);

  const load = (below: number, stack: number[]) => {
    setBusy(true);
    auditPage(read, below, PAGE, filter)
      .then((pg) => {
        setPage(pg);
        setCursors(stack);
        setError(undefined);
      })
      .catch(setError)
      .finally(() => setBusy(false));
  };
  const first = () => {
    setBusy(true);
    newestId(read)
      .then((top) => load(top, [top]))
      .catch((e: unknown) => {
        setError(e);
        setBusy(false);
      });
  };
  useEffect(first, [key]);

  const pageNo = cursors.length;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Audit log</h1>
      <form class="filters" onSubmit={filterSubmit('audit')} aria-label="Filter the audit log" key={key}>
        <label>
          Action starts with
          <input name="action" defaultValue={filter.action} placeholder="lease." />
        </label>
        <label>
          Actor contains
          <input name="actor" defaultValue={filter.actor} />
        </label>
        <label>
          Pool
          <input name="pool" defaultValue={filter.pool} />
        </label>
        <label>
          Node
          <input name="node" defaultValue={filter.node ?? ''} inputMode="numeric" />
        </label>
        <button type="submit">Filter</button>
        <button type="button" onClick={first} disabled={busy}>
          Newest
        </button>
      </form>
      <Problem error={error} />
      <nav class="pager" aria-label="Audit pages">
        <button
          type="button"
          disabled={busy || pageNo <= 1}
          onClick={() => load(cursors[pageNo - 2]!, cursors.slice(0, -1))}
        >
          Newer
        </button>
        <span aria-live="polite">
          Page {pageNo || 1}
          {busy ? ' (loading)' : ''}
        </span>
        <button
          type="button"
          disabled={busy || page?.older === undefined}
          onClick={() => page?.older !== undefined && load(page.older, [...cursors, page.older])}
        >
          Older
        </button>
      </nav>
      <table class="list">
        <caption class="sr-only">Audit entries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">At</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Node</th>
            <th scope="col">Lease</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {(page?.entries ?? []).map((e) => (
            <tr key={e.id}>
              <td>{e.id}</td>
              <td>{when(e.at)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>
                {e.pool !== undefined && e.node !== undefined ? (
                  <a href={href('pools', { pool: e.pool, node: e.node })}>
                    {e.pool}/{e.node}
                  </a>
                ) : (
                  '—'
                )}
              </td>
              <td>
                {e.leaseId ? (
                  <a href={href('leases', { lease: e.leaseId, ...(e.pool ? { pool: e.pool } : {}) })}>
                    {e.leaseId.slice(0, 8)}
                  </a>
                ) : (
                  '—'
                )}
              </td>
              <td class="detail">{Object.keys(e.detail).length ? JSON.stringify(e.detail) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.entries.length === 0 && <p class="hint">No entries match.</p>}
    </section>
  );
}
