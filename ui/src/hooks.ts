/** Small hooks the pages share: the hash route, polling that pauses in a hidden tab. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Route {
  page: string;
  params: URLSearchParams;
}

function parseHash(): Route {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { page: path || 'pools', params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function href(page: string, params: Record<string, string | number | undefined> = {}): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v));
  const query = s.toString();
  return `#/${page}${query ? `?${query}` : ''}`;
}

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  refresh: () => void;
}

/**
 * Runs `load` now and every `everyMs` while the tab is visible (and at once when it comes back),
 * one call at a time. `load` returns undefined when nothing changed (a 304), to keep the last data.
 */
export function usePoll<T>(load: () => Promise<T | undefined>, everyMs: number, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const running = useRef(false);
  const tick = useCallback(() => {
    if (running.current || document.hidden) return;
    running.current = true;
    loadRef
      .current()
      .then((d) => {
        if (d !== undefined) setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => setError(e as Error))
      .finally(() => (running.current = false));
  }, []);
  useEffect(() => {
    setData(undefined);
    tick();
    const timer = everyMs > 0 ? setInterval(tick, everyMs) : undefined;
    const onVisible = () => !document.hidden && tick();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      if (timer) clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);
  return { data, error, refresh: tick };
}

/**
 * A filter form's submit: its named fields become the page's hash parameters. Fields are
 * uncontrolled (defaultValue), so a poll that re-renders the page never undoes typing.
 */
export function filterSubmit(page: string, keep: Record<string, string | undefined> = {}) {
  return (e: Event) => {
    e.preventDefault();
    const fields: Record<string, string> = {};
    for (const [k, v] of new FormData(e.currentTarget as HTMLFormElement))
      if (typeof v === 'string') fields[k] = v.trim();
    location.hash = href(page, { ...keep, ...fields });
  };
}

/** For a select in a filter form: choosing applies the filter at once. */
export function submitForm(e: Event): void {
  (e.currentTarget as HTMLSelectElement).form?.requestSubmit();
}
