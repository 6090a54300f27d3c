/**
 * The HTTP half of `npm run bench`: a real `serve` under autocannon, beside the raw limits it sits
 * on (a bare fastify route, jose verification, SQLite commits), for 10, 16 and 22-bit pools at 10 %
 * and 90 % occupancy, with and without NATS, a burst that fills a pool, and PostgreSQL replicas.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { initNats } from '../../src/nats/init.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Cleanup } from '../cleanup.js';
import { placement } from '../cpu.js';
import { startNatsServer } from '../nats-server.js';
import { table } from '../report.js';
import { startIssuer } from './issuer.js';
import { config, freePort } from './config.js';
import { burst, cycles, plain, renewals, WARMUP_S, type Load } from './load.js';
import { prefill } from './prefill.js';
import { replicaBench, replicaSummary } from './replicas.js';
import { joseVerifies, sqliteCommits } from './raw.js';
import { stalled, startServe } from './serve.js';

export interface HttpBenchOptions {
  quick: boolean;
  /** PostgreSQL server for the replica runs; skipped when unreachable. */
  pgUrl: string;
  /** Pools to run, as "bits:occupancy", e.g. "10:0.1". */
  pools: string[];
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const row = (name: string, l: Load, stallMs?: number) => [
  name,
  fmt(l.perSecond),
  `${l.p50} ms`,
  `${l.p99} ms`,
  stallMs === undefined ? '' : `${stallMs.toFixed(0)} ms`,
  String(l.failed),
];

export async function httpBench(root: string, o: HttpBenchOptions, cleanup: Cleanup): Promise<void> {
  const secs = o.quick ? 3 : 5;
  const issuer = await startIssuer();
  cleanup.defer(() => issuer.close());
  const tokens = await Promise.all(Array.from({ length: 64 }, (_, i) => issuer.token(`workload-${i}`)));
  // The longest stall: of the serve's event loop during the load (its own metric), so a request's
  // wait behind work not its own shows even where p99 hides it.
  const lines: string[][] = [['load (8 connections)', 'per second', 'p50', 'p99', 'longest stall', 'failed']];
  const ratios: string[] = [];

  // The raw limits, in the same run.
  const barePort = await freePort();
  const bareBin = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bare.js');
  const bare = spawn(process.execPath, [bareBin, String(barePort)], { stdio: 'ignore' });
  cleanup.defer(() => void bare.kill('SIGKILL'));
  await sleep(700);
  const bareLoad = await plain(`http://127.0.0.1:${barePort}/`, secs);
  // The burst's floor: 1,100 requests at once to a route that does nothing, from the same loader.
  const bareBurst = await burst([`http://127.0.0.1:${barePort}`], tokens, 1100, '/');
  bare.kill('SIGKILL');
  lines.push(row('bare fastify route (requests)', bareLoad));
  const verifies = await joseVerifies(issuer, 1000);
  const commits = await sqliteCommits(root, 1000);

  const results = new Map<string, Load>();
  const placements = new Map<string, string>();
  for (const spec of o.pools) {
    const [bitsText, occText] = spec.split(':');
    const bits = Number(bitsText);
    const occupancy = Number(occText);
    const dir = path.join(root, `pool-${bits}-${occupancy}`);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'snowgate.db');
    await new SqliteStore(file).close();
    const count = Math.round(2 ** bits * occupancy);
    const t0 = performance.now();
    prefill(file, 'default', count, Date.now(), 2 ** bits);
    const fillMs = performance.now() - t0;
    const served = await startServe(
      dir,
      'serve',
      config(await freePort(), issuer, { kind: 'sqlite', path: file }, bits),
    );
    try {
      const {
        value: { value: c, stallMs },
        summary,
      } = await placement(served.pid, () => stalled(served.url, () => cycles(served.url, tokens, secs)));
      if (summary) placements.set(spec, summary);
      const r = await renewals(served.url, tokens[63]!, o.quick ? 2 : 3);
      results.set(spec, c);
      lines.push(
        row(
          `${bits}-bit pool, ${occupancy * 100} % (${count} leases, filled in ${(fillMs / 1000).toFixed(1)} s): cycles`,
          c,
          stallMs,
        ),
      );
      lines.push(row(`  renewals`, r));
    } finally {
      await served.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // NATS: credentials with every grant, a revocation pushed with every release.
  const natsDir = path.join(root, 'nats-http');
  await initNats(natsDir);
  // Every release adds a revocation that stays until its 10-minute JWT expires; the default 1 MiB
  // max_payload holds ~10,000, which a quiet machine passes within the two loads (then 503
  // revocations_full, correctly). 8 MiB holds ~80,000, so the loads measure cost, not the budget.
  const nats = await startNatsServer(natsDir, 10_000, 8 * 1024 * 1024);
  cleanup.defer(() => nats.stop());
  const withNats = config(
    await freePort(),
    issuer,
    { kind: 'sqlite', path: path.join(root, 'nats-http', 'sg.db') },
    10,
    {
      nats: { dir: natsDir, servers: [nats.url] },
    },
  );
  const natsServed = await startServe(root, 'nats', withNats);
  let natsStart: Load;
  let natsChurned: Load;
  let startStall: number | undefined;
  let churnedStall: number | undefined;
  // Each release is a revocation that stays in the account until its JWT expires. The first load
  // is measured from the revocations of its own warm-up, the second from 5,000 more.
  const churn = 5000;
  let startAt = 0;
  let churnedAt = 0;
  try {
    ({ value: natsStart, stallMs: startStall } = await stalled(natsServed.url, () =>
      cycles(natsServed.url, tokens, secs, 8, true),
    ));
    startAt = natsStart.warm;
    let revoked = natsStart.total;
    // The second load's warm-up revokes about as many as the first one's did.
    const short = startAt + churn - revoked - natsStart.warm;
    if (short > 0) {
      const seconds = Math.min(120, short / Math.max(1, natsStart.perSecond));
      revoked += (await cycles(natsServed.url, tokens, seconds, 8, true)).total;
    }
    ({ value: natsChurned, stallMs: churnedStall } = await stalled(natsServed.url, () =>
      cycles(natsServed.url, tokens, secs, 8, true),
    ));
    churnedAt = revoked + natsChurned.warm;
    lines.push(
      row(
        `10-bit pool, with NATS (user keys made by the client), from ${startAt} revocations: cycles`,
        natsStart,
        startStall,
      ),
    );
    lines.push(row(`  with NATS, from ${churnedAt} revocations`, natsChurned, churnedStall));
  } finally {
    await natsServed.stop();
  }

  // 1,100 acquires at once on a 1,024-node pool.
  const burstDir = path.join(root, 'burst');
  mkdirSync(burstDir, { recursive: true });
  const burstServed = await startServe(
    burstDir,
    'burst',
    config(await freePort(), issuer, { kind: 'sqlite', path: path.join(burstDir, 'sg.db') }, 10),
  );
  const sqliteBurst = await burst([burstServed.url], tokens, 1100).finally(() => burstServed.stop());

  // PostgreSQL: one replica, then three on one database.
  const replicas = await replicaBench(root, o.pgUrl, issuer, tokens, secs, cleanup);
  if (replicas) {
    lines.push(row('PostgreSQL, 1 replica (9 connections): cycles', replicas.one));
    lines.push([
      'PostgreSQL, 3 replicas (3 connections each): cycles',
      fmt(replicas.three.perSecond),
      '',
      '',
      '',
      String(replicas.three.failed),
    ]);
  }

  console.log(`\nHTTP: a real serve under autocannon (${secs} s a load after ${WARMUP_S} s warm-up)`);
  console.log(table(lines));
  console.log(
    `\njose RS256 verifications/s: ${fmt(verifies)}; SQLite commits/s (WAL, synchronous=FULL): ${fmt(commits)}`,
  );
  const base = results.get('10:0.1');
  const big = results.get('16:0.9');
  if (base && big)
    ratios.push(`cycles 16-bit 90 % / 10-bit 10 % = ${(big.perSecond / base.perSecond).toFixed(2)} (target ≥ 0.8)`);
  if (base)
    ratios.push(
      `cycles without NATS / SQLite commits = ${(base.perSecond / commits).toFixed(3)} (target ≥ 0.5)` +
        (placements.has('10:0.1') ? ` (${placements.get('10:0.1')})` : ''),
    );
  if (base)
    ratios.push(`cycles with NATS / without = ${(natsStart.perSecond / base.perSecond).toFixed(2)} (target ≥ 0.6)`);
  ratios.push(
    `with NATS from ${churnedAt} revocations / from ${startAt} = ${(natsChurned.perSecond / natsStart.perSecond).toFixed(2)} (target ≥ 0.8 after 5,000 more)` +
      (natsStart.failed + natsChurned.failed > 0 ? `; ${natsStart.failed + natsChurned.failed} requests FAILED` : ''),
  );
  ratios.push(
    `1,100 acquires at once on 1,024 nodes (SQLite): ${sqliteBurst.granted} granted on ${sqliteBurst.nodes} nodes in ${(sqliteBurst.ms / 1000).toFixed(2)} s (target: 1024 in < 2 s); ` +
      `1,100 requests at once to the bare route: ${(bareBurst.ms / 1000).toFixed(2)} s (burst / bare = ${(sqliteBurst.ms / bareBurst.ms).toFixed(2)})`,
  );
  ratios.push(replicaSummary(replicas));
  for (const r of ratios) console.log(r);
}
