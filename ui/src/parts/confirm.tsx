/** A modal confirmation that names what will end; Escape or Cancel keeps everything. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmRequest {
  title: string;
  body: ComponentChildren;
  action: string;
  run: () => Promise<void>;
}

export function useConfirm(): [ComponentChildren, (r: ConfirmRequest) => void] {
  const [request, setRequest] = useState<ConfirmRequest | undefined>(undefined);
  const dialog = request ? <ConfirmDialog request={request} close={() => setRequest(undefined)} /> : null;
  return [dialog, setRequest];
}

function ConfirmDialog({ request, close }: { request: ConfirmRequest; close: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const confirm = () => {
    setBusy(true);
    request
      .run()
      .then(close)
      .catch((e: unknown) => {
        setBusy(false);
        setError(e instanceof Error ? e.message : String(e));
      });
  };
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onClose={close}>
      <h2 id="confirm-title">{request.title}</h2>
      <div class="confirm-body">{request.body}</div>
      {error && (
        <p class="problem" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={confirm} disabled={busy}>
          {request.action}
        </button>
      </div>
    </dialog>
  );
}
