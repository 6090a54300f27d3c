/**
 * The PostgreSQL part of the HTTP bench: one `serve` on a fresh database, then three on the same
 * one, under the same total load, and 1,100 acquires at once over the three. Its own suite too
 * (`npm run bench -- postgres`), so the replica figures can be re-measured without the rest.
 */
import pg from 'pg';
import type { Cleanup } from '../cleanup.js';
import { config, freePort } from './config.js';
import { startIssuer, type BenchIssuer } from './issuer.js';
import { whileBusy } from '../cpu.js';
import { burst, cycles, WARMUP_S, type Load } from './load.js';
import { startServe, type Served } from './serve.js';

export interface ReplicaResult {
  one: Load;
  /** Cycles/s of the three replicas together, and their failed answers. */
  three: { perSecond: number; failed: number };
  burst: { ms: number; granted: number; nodes: number };
  /** Share of the machine's CPUs busy during each load. */
  busy: { one?: number; three?: number };
}

/** Undefined when the server at `pgUrl` cannot be reached. */
export async function replicaBench(
  root: string,
  pgUrl: string,
  issuer: BenchIssuer,
  tokens: string[],
  secs: number,
  cleanup: Cleanup,
): Promise<ReplicaResult | undefined> {
  const admin = new pg.Client({ connectionString: pgUrl });
  if (
    !(await admin.connect().then(
      () => true,
      () => false,
    ))
  )
    return undefined;
  const db = `sg_bench_${process.pid}`;
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${db}`);
  cleanup.defer(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });
  const url = new URL(pgUrl);
  url.pathname = `/${db}`;
  const replicas: Served[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      replicas.push(
        await startServe(
          root,
          `pg${i}`,
          config(await freePort(), issuer, { kind: 'postgres', url: url.toString() }, 10),
        ),
      );
    }
    const one = await whileBusy(() => cycles(replicas[0]!.url, tokens, secs, 9));
    const three = await whileBusy(() =>
      Promise.all(replicas.map((r, i) => cycles(r.url, tokens.slice(i * 20, i * 20 + 20), secs, 3))),
    );
    const each = three.value;
    // autocannon stops with cycles half done (acquired, never released): start the burst empty.
    const wipe = new pg.Client({ connectionString: url.toString() });
    await wipe.connect();
    await wipe.query('TRUNCATE leases, nodes, pool_cursor, audit');
    await wipe.end();
    const b = await burst(
      replicas.map((r) => r.url),
      tokens,
      1100,
    );
    return {
      one: one.value,
      busy: { one: one.busy, three: three.busy },
      three: {
        perSecond: each.reduce((n, l) => n + l.perSecond, 0),
        failed: each.reduce((n, l) => n + l.failed, 0),
      },
      burst: b,
    };
  } finally {
    for (const r of replicas) await r.stop();
  }
}

/** The ratio line the targets are read from. */
export function replicaSummary(r: ReplicaResult | undefined): string {
  if (!r) return 'PostgreSQL: not reachable, skipped';
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const ceiling =
    r.busy.one !== undefined && r.busy.three !== undefined
      ? ` (CPUs busy: ${pct(r.busy.one)} with 1 replica, ${pct(r.busy.three)} with 3; room for at most ${(1 / r.busy.one).toFixed(2)}x on this machine)`
      : '';
  return (
    `PostgreSQL 3 replicas / 1 = ${(r.three.perSecond / r.one.perSecond).toFixed(2)} (target ≥ 1.5)${ceiling}; ` +
    `1,100 acquires at once on 1,024 nodes over 3 replicas: ${r.burst.granted} granted on ${r.burst.nodes} nodes in ${(r.burst.ms / 1000).toFixed(2)} s (target: 1024 in < 2 s)`
  );
}

/** `npm run bench -- postgres`: the replica runs alone, with the issuer and tokens they need. */
export async function replicaSuite(root: string, pgUrl: string, quick: boolean, cleanup: Cleanup): Promise<void> {
  const secs = quick ? 3 : 5;
  const issuer = await startIssuer();
  cleanup.defer(() => issuer.close());
  const tokens = await Promise.all(Array.from({ length: 64 }, (_, i) => issuer.token(`workload-${i}`)));
  const r = await replicaBench(root, pgUrl, issuer, tokens, secs, cleanup);
  if (r) {
    console.log(`PostgreSQL, a real serve under autocannon (${secs} s a load after ${WARMUP_S} s warm-up)`);
    console.log(
      `1 replica (9 connections): ${r.one.perSecond.toFixed(0)} cycles/s, p50 ${r.one.p50} ms, p99 ${r.one.p99} ms, ${r.one.failed} failed`,
    );
    console.log(`3 replicas (3 connections each): ${r.three.perSecond.toFixed(0)} cycles/s, ${r.three.failed} failed`);
  }
  console.log(replicaSummary(r));
}
