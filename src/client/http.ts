/** The registry's HTTP API from the client's side: JSON in and out, problem+json as typed errors. */
import { problemError, RegistryError, RegistryUnreachableError, UnexpectedResponseError } from './errors.js';

export interface CallOptions {
  token?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /** @default 10_000 */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function errorOf(res: Response): Promise<Error> {
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not problem+json (a proxy's HTML page, say): the status line is all there is.
  }
  return problemError(
    res.status,
    { title: res.statusText || undefined, ...body },
    retryAfterMs(res.headers.get('retry-after')),
  );
}

/** Calls `base + route`. Returns the parsed JSON body, or undefined for an empty one (204). */
export async function call(base: string, method: string, route: string, o: CallOptions = {}): Promise<unknown> {
  const url = new URL(base.replace(/\/+$/, '') + route);
  for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const where = `${method} ${url.origin}${url.pathname}`;
  let res: Response;
  let text: string;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method,
      headers,
      body: o.body !== undefined ? JSON.stringify(o.body) : null,
      signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
    });
    if (!res.ok) throw await errorOf(res);
    text = await res.text();
  } catch (e) {
    if (e instanceof RegistryError) throw e;
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new RegistryUnreachableError(`${where}: ${cause}`, { cause: e });
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UnexpectedResponseError(`${where} answered ${res.status} with a body that is not JSON`, { cause: e });
  }
}
