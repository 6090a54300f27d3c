/**
 * The console's one way to the registry: same-origin fetches that the session cookie authorizes,
 * with the CSRF header every cookie-authorized call needs, problems turned into errors, and ETags
 * remembered so a poll that finds nothing new costs a 304 and no re-render.
 */

import type { Principal } from './types.js';

export type * from './types.js';

/** A problem+json answer (CONTRACT §4), or a failure to reach the registry at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrf = '';
let onSignedOut: () => void = () => undefined;

export function setCsrf(value: string): void {
  csrf = value;
}

/** Called when a call finds the session gone (401), so the page can ask to sign in again. */
export function whenSignedOut(f: () => void): void {
  onSignedOut = f;
}

const cache = new Map<string, { etag: string; data: unknown }>();

async function problemOf(res: Response): Promise<ApiError> {
  try {
    const p = (await res.json()) as { code?: string; detail?: string; title?: string };
    return new ApiError(res.status, p.code ?? 'unknown', p.detail ?? p.title ?? res.statusText);
  } catch {
    return new ApiError(res.status, 'unknown', `${res.status} ${res.statusText}`);
  }
}

async function send(method: string, path: string, body?: unknown, etag?: string): Promise<Response> {
  const headers: Record<string, string> = { 'x-snowgate-csrf': csrf, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (etag !== undefined) headers['if-none-match'] = etag;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      // The console keeps its own ETags; the browser's cache would answer 200 from memory instead.
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'the registry cannot be reached');
  }
  if (res.status === 401) onSignedOut();
  return res;
}

/** GET, answered from the last copy when the registry says 304. `fresh` is false then. */
export async function get<T>(path: string): Promise<{ data: T; fresh: boolean }> {
  const cached = cache.get(path);
  const res = await send('GET', path, undefined, cached?.etag);
  if (res.status === 304 && cached) return { data: cached.data as T, fresh: false };
  if (!res.ok) throw await problemOf(res);
  const data = (await res.json()) as T;
  const etag = res.headers.get('etag');
  if (etag) cache.set(path, { etag, data });
  return { data, fresh: true };
}

export async function call<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const res = await send(method, path, body);
  if (!res.ok) throw await problemOf(res);
  return res.status === 204 ? undefined : ((await res.json()) as T);
}

export const q = (params: Record<string, string | number | undefined>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};

export const enc = encodeURIComponent;

export const who = (p: Principal): string => `${p.issuer}:${p.subject}`;
