/** A small HTTP client for the registry API: JSON in and out, problem+json errors as HttpProblem. */

/** An error answer from the registry (CONTRACT §4): status, and the problem's title, detail and code. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly title: string | undefined,
    readonly detail: string | undefined,
    /** From Retry-After, for 429 and 503. */
    readonly retryAfterMs: number | undefined,
  ) {
    const what = [title ?? `HTTP ${status}`, detail].filter(Boolean).join(': ');
    super(`${status} ${what}${code ? ` (${code})` : ''}`);
  }
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function retryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function problem(res: Response): Promise<HttpProblem> {
  const text = await res.text().catch(() => '');
  let p: { title?: unknown; detail?: unknown; code?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') p = parsed;
  } catch {
    // Not problem+json (a proxy's HTML page, say): keep the status line only.
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return new HttpProblem(
    res.status,
    str(p.code),
    str(p.title) ?? (res.statusText || undefined),
    str(p.detail),
    retryAfter(res.headers.get('retry-after')),
  );
}

/** Calls `base + route`. Returns the parsed JSON body, or undefined for an empty one (204). */
export async function call<T>(
  base: string,
  method: string,
  route: string,
  o: CallOptions = {},
): Promise<T | undefined> {
  const url = new URL(base + route);
  for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
    });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new Error(`${method} ${url.origin}${url.pathname}: ${cause}`);
  }
  if (!res.ok) throw await problem(res);
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : undefined;
}
