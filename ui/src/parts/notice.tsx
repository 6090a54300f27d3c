import { inWords } from '../format.js';

/** A problem, read out by screen readers as it appears. */
export function Problem({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="problem" role="alert">
      {inWords(error)}
    </p>
  );
}

export function Done({ text }: { text: string | undefined }) {
  return (
    <p class="done" role="status">
      {text ?? ''}
    </p>
  );
}
