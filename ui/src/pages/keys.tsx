/** Keys: the NATS account signing keys with state and retire time; rotate after a confirmation. */
import { useState } from 'preact/hooks';
import { ApiError, call, get, type SigningKey } from '../api.js';
import { fromNow, when } from '../format.js';
import { usePoll } from '../hooks.js';
import { useConfirm } from '../parts/confirm.js';
import { Done, Problem } from '../parts/notice.js';

export function KeysPage() {
  const [done, setDone] = useState<string | undefined>(undefined);
  const [dialog, confirm] = useConfirm();
  const keys = usePoll(async () => (await get<{ keys: SigningKey[] }>('/v1/admin/keys')).data.keys, 10_000, []);
  const noNats = keys.error instanceof ApiError && keys.error.code === 'not_found';
  const rotate = () =>
    confirm({
      title: 'Rotate the signing key?',
      body: (
        <p>
          A new key signs every JWT from now on; the current one retires and is removed once every JWT it signed has
          expired. Connected clients keep working.
        </p>
      ),
      action: 'Rotate now',
      run: async () => {
        const r = await call<{ keys: SigningKey[] }>('POST', '/v1/admin/keys/rotate');
        const active = r?.keys.find((k) => k.state === 'active');
        setDone(`Rotated: ${active ? active.publicKey : 'a new key'} is active.`);
        keys.refresh();
      },
    });
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Signing keys</h1>
      {noNats ? (
        <p class="hint">NATS is not configured: this registry issues no credentials and has no signing keys.</p>
      ) : (
        <Problem error={keys.error} />
      )}
      <Done text={done} />
      {keys.data && (
        <>
          <table class="list">
            <caption class="sr-only">Signing keys</caption>
            <thead>
              <tr>
                <th scope="col">Public key</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Retires</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.publicKey}>
                  <td>
                    <code>{k.publicKey}</code>
                  </td>
                  <td>{k.state}</td>
                  <td>
                    {when(k.createdAt)} ({fromNow(k.createdAt)})
                  </td>
                  <td>{k.retireAt ? `${when(k.retireAt)} (${fromNow(k.retireAt)})` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="danger" onClick={rotate}>
            Rotate signing key
          </button>
        </>
      )}
      {dialog}
    </section>
  );
}
