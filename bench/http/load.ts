/**
 * HTTP load with autocannon against a running `serve`: acquire+release cycles, renewals, a bare
 * route, and a burst of concurrent acquires. Every connection is its own principal (its own token),
 * as concurrent workloads are.
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { encodePublicKey } from '../../src/nats/nkey.js';

export interface Load {
  /** Completed operations (cycles, renewals, requests) per second. */
  perSecond: number;
  p50: number;
  p99: number;
  /** Answers that were not the expected success. */
  failed: number;
  /** Operations completed in the warm-up, and in all (for cycles: releases, each a revocation with NATS). */
  warm: number;
  total: number;
}

const json = { 'content-type': 'application/json' };

/**
 * Seconds of load before each measured one. A fresh `serve` spends its first 2-3 s under load
 * compiling: V8's background threads took 0.45 of this machine's 2 cores, the disk syncs waited
 * behind them, and it committed a third to a half of what it did from then on. A registry runs
 * for days; the bench measures it warm.
 */
export const WARMUP_S = 3;

/** What a load's onResponse callbacks count. */
interface Tally {
  done: number;
  failed: number;
  warm?: number;
}

/**
 * The warm-up, then the measured run, with the tally counting the measured run alone. Not
 * autocannon's own `warmup`: it calls the requests' onResponse too, so its answers were counted.
 */
async function run(o: autocannon.Options, tally: Tally = { done: 0, failed: 0 }): Promise<autocannon.Result> {
  await autocannon({ connections: 8, ...o, duration: WARMUP_S });
  tally.warm = tally.done;
  tally.done = 0;
  tally.failed = 0;
  return autocannon({ connections: 8, ...o });
}

function summary(r: autocannon.Result, ops: number, failed: number, warm = 0): Load {
  return { perSecond: ops / r.duration, p50: r.latency.p50, p99: r.latency.p99, failed, warm, total: warm + ops };
}

/**
 * A fresh NATS user public key for each acquire, as NodeLease sends by default (it makes the key
 * itself so the seed never crosses the network). The registry only checks its form, so random
 * bytes stand in for a real key pair and the loader spends nothing on Ed25519.
 */
const userKeyBody = (): string => JSON.stringify({ natsPublicKey: encodePublicKey('user', randomBytes(32)) });

/**
 * POST /v1/leases then DELETE it, back to back on each connection. `userKeys`: each acquire
 * brings its own NATS user key, as NodeLease does (without, a registry with NATS makes one).
 */
export async function cycles(
  url: string,
  tokens: string[],
  seconds: number,
  connections = 8,
  userKeys = false,
): Promise<Load> {
  let next = 0;
  const tally: Tally = { done: 0, failed: 0 };
  type Ctx = { auth?: string; id?: string };
  const auth = (ctx: Ctx) => (ctx.auth ??= `Bearer ${tokens[next++ % tokens.length]}`);
  const r = await run(
    {
      url,
      connections,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: '/v1/leases',
          body: '{}',
          setupRequest: (req, ctx: Ctx) => ({
            ...req,
            ...(userKeys ? { body: userKeyBody() } : {}),
            headers: { ...json, authorization: auth(ctx) },
          }),
          onResponse: (status, body, ctx: Ctx) => {
            ctx.id = status === 201 ? (JSON.parse(body) as { lease: { id: string } }).lease.id : undefined;
            if (status !== 201) tally.failed++;
          },
        },
        {
          method: 'DELETE',
          setupRequest: (req, ctx: Ctx) =>
            (ctx.id
              ? { ...req, path: `/v1/leases/${ctx.id}`, headers: { authorization: auth(ctx) } }
              : undefined) as never,
          onResponse: (status) => {
            if (status === 204) tally.done++;
            else tally.failed++;
          },
        },
      ],
    },
    tally,
  );
  return summary(r, tally.done, tally.failed, tally.warm);
}

/** POST /v1/leases/{id}/renew on leases acquired first, one per connection, by one principal. */
export async function renewals(url: string, token: string, seconds: number, connections = 8): Promise<Load> {
  const ids: string[] = [];
  for (let i = 0; i < connections; i++) {
    const r = await fetch(`${url}/v1/leases`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ instance: `renew-${i}` }),
    });
    if (r.status !== 201) throw new Error(`renew setup: ${r.status} ${await r.text()}`);
    ids.push(((await r.json()) as { lease: { id: string } }).lease.id);
  }
  let next = 0;
  const tally: Tally = { done: 0, failed: 0 };
  const r = await run(
    {
      url,
      connections,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          body: '{}',
          setupRequest: (req, ctx: { id?: string }) => ({
            ...req,
            path: `/v1/leases/${(ctx.id ??= ids[next++ % ids.length])}/renew`,
            headers: { ...json, authorization: `Bearer ${token}` },
          }),
          onResponse: (status) => (status === 200 ? tally.done++ : tally.failed++),
        },
      ],
    },
    tally,
  );
  return summary(r, tally.done, tally.failed, tally.warm);
}

/** Any route that answers 2xx: the bare fastify ceiling. */
export async function plain(url: string, seconds: number): Promise<Load> {
  const r = await run({ url, method: 'POST', body: '{}', headers: json, duration: seconds });
  return summary(r, r['2xx'], r.non2xx);
}

/**
 * `n` acquires at once; how long until every one is answered, and how many were granted. With
 * `route`, the same requests to another route (the bare one: what the loader and TCP cost alone).
 */
export async function burst(
  urls: string[],
  tokens: string[],
  n: number,
  route = '/v1/leases',
): Promise<{ ms: number; granted: number; nodes: number }> {
  const start = performance.now();
  const nodes = new Set<number>();
  let granted = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const r = await fetch(`${urls[i % urls.length]}${route}`, {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${tokens[i % tokens.length]}` },
        body: JSON.stringify({ instance: `burst-${i}` }),
      });
      const body = (await r.json()) as { lease?: { node: number } };
      if (r.status === 201 && body.lease) {
        granted++;
        nodes.add(body.lease.node);
      }
    }),
  );
  return { ms: performance.now() - start, granted, nodes: nodes.size };
}
