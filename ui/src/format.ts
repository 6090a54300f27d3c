/** How times and problems read in the console. */
import { ApiError } from './api.js';

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export function fromNow(iso: string, nowMs = Date.now()): string {
  const s = Math.round((Date.parse(iso) - nowMs) / 1000);
  const abs = Math.abs(s);
  if (abs < 2) return 'now';
  const text = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : `${Math.round(abs / 3600)}h`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

const WORDS: Record<string, string> = {
  node_conflict: 'That node is taken',
  principal_limit: 'That principal holds its limit of leases',
  forbidden: 'Not allowed',
  invalid_token: 'Your session is no longer valid',
  invalid_request: 'That was not accepted',
  not_found: 'Not found',
  lease_gone: 'That lease has already ended',
  rate_limited: 'Too many requests; try again shortly',
  unavailable: 'The registry cannot reach its store or NATS right now',
  unreachable: 'The registry cannot be reached',
};

/** A problem in words: what it means, then the registry's own detail. */
export function inWords(e: unknown): string {
  if (e instanceof ApiError) {
    const lead = WORDS[e.code] ?? `Failed (${e.status})`;
    return `${lead}: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}
