/**
 * Lease churn over HTTP for fault tests: workers acquire and release against one or more `serve`
 * replicas until told to stop, and record what every answer was, so a test can check that a fault
 * gave 503s (with Retry-After), never a 500 or a dead process, and that every grant a client was
 * told about survived.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { call } from './harness.js';

export interface Churn {
  /** Status counts of every answer. */
  statuses: Map<number, number>;
  /** Leases answered 201, with their node. */
  acknowledged: { id: string; node: number }[];
  /** Answers that were neither success nor a 503 with Retry-After, or requests that got no answer. */
  bad: string[];
  stop(): Promise<void>;
}

export function churn(urls: string[], tokens: string[], perWorkerPauseMs = 0): Churn {
  const statuses = new Map<number, number>();
  const acknowledged: { id: string; node: number }[] = [];
  const bad: string[] = [];
  let running = true;
  const seen = (r: { status: number; headers: Headers; body: unknown }, what: string) => {
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const ok = r.status === 201 || r.status === 204;
    if (!ok && !(r.status === 503 && r.headers.get('retry-after'))) {
      bad.push(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  const worker = async (w: number) => {
    const url = urls[w % urls.length]!;
    const token = tokens[w % tokens.length]!;
    while (running) {
      try {
        const a = await call(url, 'POST', '/v1/leases', token, { instance: `w${w}` });
        seen(a, 'acquire');
        if (a.status === 201) {
          acknowledged.push({ id: a.body.lease.id, node: a.body.lease.node });
          const d = await call(url, 'DELETE', `/v1/leases/${a.body.lease.id}`, token);
          seen(d, 'release');
        } else {
          await sleep(50);
        }
      } catch (e) {
        bad.push(`no answer from ${url}: ${(e as Error).message}`);
        await sleep(50);
      }
      if (perWorkerPauseMs) await sleep(perWorkerPauseMs);
    }
  };
  const workers = Array.from({ length: tokens.length }, (_, w) => worker(w));
  return {
    statuses,
    acknowledged,
    bad,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** Waits until every replica's /readyz answers 200. */
export async function waitReady(urls: string[], timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      const r = await call(url, 'GET', '/readyz', undefined).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > until) throw new Error(`${url} not ready: ${JSON.stringify(r?.body)}`);
      await sleep(100);
    }
  }
}

/** Checks the store itself: every acknowledged lease is there, with its node, and no node is held twice. */
export async function checkLeases(dbUrl: string, acknowledged: { id: string; node: number }[]): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const rows = (await c.query<{ id: string; node: number }>('SELECT id, node FROM leases')).rows;
    const byId = new Map(rows.map((r) => [r.id, r.node]));
    for (const a of acknowledged) {
      if (byId.get(a.id) !== a.node) throw new Error(`acknowledged lease ${a.id} (node ${a.node}) is missing`);
    }
    const active = (await c.query<{ node: number }>('SELECT node FROM leases WHERE ended_at IS NULL')).rows;
    if (new Set(active.map((r) => r.node)).size !== active.length) throw new Error('a node is held twice');
  } finally {
    await c.end();
  }
}
