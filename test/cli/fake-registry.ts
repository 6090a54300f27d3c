/**
 * A stand-in for the registry's HTTP API, just enough for the CLI's edge: it records requests and
 * answers from handlers the test sets. The real registry end to end is tested with src/main.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  auth: string | undefined;
  body: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: Seen) => Answer | undefined;

export interface FakeRegistry {
  url: string;
  seen: Seen[];
  /** Handlers tried newest first; the first answer wins. 404 when none answers. */
  on(h: Handler): void;
  close(): Promise<void>;
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const seen: Seen[] = [];
  const handlers: Handler[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const s: Seen = {
        method: req.method ?? '',
        path: u.pathname,
        query: u.searchParams,
        auth: req.headers.authorization,
        body: raw ? JSON.parse(raw) : undefined,
      };
      seen.push(s);
      const a = handlers.reduceRight<Answer | undefined>((got, h) => got ?? h(s), undefined) ?? {
        status: 404,
        body: { type: 'about:blank', title: 'Not Found', status: 404, detail: 'no route', code: 'not_found' },
      };
      const json = a.status >= 400 ? 'application/problem+json' : 'application/json';
      res.writeHead(a.status, { 'content-type': json, ...a.headers });
      res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    on: (h) => handlers.push(h),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export function problem(status: number, code: string, detail: string, extensions: object = {}): Answer {
  return { status, body: { type: 'about:blank', title: code, status, detail, code, ...extensions } };
}

let leaseCount = 0;

/** A §4 grant or renewal body, with renewAfter and expiresAt this many ms after now. */
export function leaseBody(o: {
  id?: string;
  node?: number;
  renewMs: number;
  ttlMs: number;
  jwt?: string;
}): Record<string, unknown> {
  const now = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    lease: {
      id: o.id ?? `lease-${++leaseCount}`,
      pool: 'default',
      node: o.node ?? 5,
      generation: 1,
      principal: { issuer: 'corp', subject: 'svc' },
      issuedAt: iso(now),
      expiresAt: iso(now + o.ttlMs),
      renewAfter: iso(now + o.renewMs),
      notBefore: iso(now - 1000),
    },
    layout: { epoch: '2024-01-01T00:00:00.000Z', timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
    ...(o.jwt ? { nats: { jwt: o.jwt, expiresAt: iso(now + o.ttlMs), servers: ['nats://127.0.0.1:4222'] } } : {}),
    now: iso(now),
    maxClockSkewMs: 100,
  };
}
