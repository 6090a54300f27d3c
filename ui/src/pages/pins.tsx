/** Pins: create, edit the note, delete. A refused pin says why in words (node_conflict and others). */
import { useState } from 'preact/hooks';
import { call, enc, get, q, who, type Pin, type Pool } from '../api.js';
import { inWords, when } from '../format.js';
import { href, usePoll, type Route } from '../hooks.js';
import { useConfirm } from '../parts/confirm.js';
import { Done } from '../parts/notice.js';
import { Problem } from '../parts/notice.js';

const pinPath = (pool: string, node: number | string) => `/v1/admin/mappings/${enc(pool)}/${enc(String(node))}`;

export function PinsPage({ route }: { route: Route }) {
  const pool = route.params.get('pool') ?? '';
  const [done, setDone] = useState<string | undefined>(undefined);
  const [dialog, confirm] = useConfirm();
  const pools = usePoll(async () => (await get<Pool[]>('/v1/pools')).data, 0, []);
  const path = `/v1/admin/mappings${q({ pool })}`;
  const pins = usePoll(async () => (await get<Pin[]>(path)).data, 5000, [path]);

  const remove = (p: Pin) =>
    confirm({
      title: 'Delete this pin?',
      body: (
        <p>
          {p.pool}/{p.node} stops being pinned to <strong>{who(p.principal)}</strong>. A lease it holds goes on until it
          ends.
        </p>
      ),
      action: 'Delete pin',
      run: async () => {
        await call('DELETE', pinPath(p.pool, p.node));
        setDone(`Unpinned ${p.pool}/${p.node}.`);
        pins.refresh();
      },
    });

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Pins</h1>
      <PinForm
        pools={pools.data ?? []}
        pool={pool || pools.data?.[0]?.name || 'default'}
        node={route.params.get('node') ?? ''}
        saved={(text) => {
          setDone(text);
          pins.refresh();
        }}
      />
      <Done text={done} />
      <Problem error={pins.error} />
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter pins">
        <label>
          Pool
          <select value={pool} onChange={(e) => (location.hash = href('pins', { pool: e.currentTarget.value }))}>
            <option value="">any</option>
            {(pools.data ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      </form>
      <table class="list">
        <caption class="sr-only">Pins</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Principal</th>
            <th scope="col">Note</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(pins.data ?? []).map((p) => (
            <PinRow key={`${p.pool}/${p.node}`} pin={p} remove={remove} saved={(t) => (setDone(t), pins.refresh())} />
          ))}
        </tbody>
      </table>
      {pins.data?.length === 0 && <p class="hint">No pins{pool ? ` in ${pool}` : ''}.</p>}
      {dialog}
    </section>
  );
}

function PinRow({ pin, remove, saved }: { pin: Pin; remove: (p: Pin) => void; saved: (text: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState(pin.note ?? '');
  const [error, setError] = useState<string | undefined>(undefined);
  const save = async () => {
    try {
      await call('PUT', pinPath(pin.pool, pin.node), { ...pin.principal, ...(note ? { note } : {}) });
      setEditing(false);
      setError(undefined);
      saved(`Saved the note of ${pin.pool}/${pin.node}.`);
    } catch (e) {
      setError(inWords(e));
    }
  };
  return (
    <tr>
      <td>
        <a href={href('pools', { pool: pin.pool, node: pin.node })}>
          {pin.pool}/{pin.node}
        </a>
      </td>
      <td>{who(pin.principal)}</td>
      <td>
        {editing ? (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <label class="sr-only" for={`note-${pin.pool}-${pin.node}`}>
              Note of {pin.pool}/{pin.node}
            </label>
            <input
              id={`note-${pin.pool}-${pin.node}`}
              value={note}
              onInput={(e) => setNote(e.currentTarget.value)}
              maxLength={1024}
            />
            <button type="submit">Save</button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            {error && (
              <span class="problem" role="alert">
                {error}
              </span>
            )}
          </form>
        ) : (
          (pin.note ?? '—')
        )}
      </td>
      <td>
        {when(pin.createdAt)} by {pin.createdBy}
      </td>
      <td class="row-actions">
        {!editing && (
          <button type="button" onClick={() => setEditing(true)} aria-label={`Edit note of ${pin.pool}/${pin.node}`}>
            Edit note
          </button>
        )}
        <button type="button" onClick={() => remove(pin)} aria-label={`Delete pin of ${pin.pool}/${pin.node}`}>
          Delete
        </button>
      </td>
    </tr>
  );
}

function PinForm(props: { pools: Pool[]; pool: string; node: string; saved: (text: string) => void }) {
  const [pool, setPool] = useState(props.pool);
  const [node, setNode] = useState(props.node);
  const [issuer, setIssuer] = useState('');
  const [subject, setSubject] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (!/^\d+$/.test(node)) {
      setError(new Error('Node: a whole number of the pool'));
      return;
    }
    try {
      await call('PUT', pinPath(pool, node), { issuer, subject, ...(note ? { note } : {}) });
      props.saved(`Pinned ${pool}/${node} to ${issuer}:${subject}.`);
      setNode('');
      setNote('');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="create" onSubmit={(e) => void submit(e)} aria-labelledby="pin-form-title">
      <h2 id="pin-form-title">Pin a node</h2>
      <label>
        Pool
        <select value={pool} onChange={(e) => setPool(e.currentTarget.value)} required>
          {props.pools.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Node
        <input
          name="node"
          inputMode="numeric"
          value={node}
          onInput={(e) => setNode(e.currentTarget.value.trim())}
          required
        />
      </label>
      <label>
        Issuer
        <input name="issuer" value={issuer} onInput={(e) => setIssuer(e.currentTarget.value.trim())} required />
      </label>
      <label>
        Subject
        <input name="subject" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} required />
      </label>
      <label>
        Note
        <input name="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} maxLength={1024} />
      </label>
      <button type="submit">Pin</button>
      <Problem error={error} />
    </form>
  );
}
