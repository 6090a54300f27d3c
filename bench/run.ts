/**
 * `npm run bench`: leases granted per second on this machine, without NATS credentials, with
 * them (native signer), and with the stock @nats-io/jwt + @nats-io/nkeys signer, plus the raw
 * JWT signing rates behind the difference; then the client SDK (bench/client). A measurement,
 * not a test: nothing here fails on a slow machine; the target line is for a human to read.
 * `npm run bench -- SUITE...` runs only the suites named (`registry`, `client`, `callout`, and
 * `postgres`: the PostgreSQL replica part of `registry` alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cleanup } from './cleanup.js';
import { withNativeCredentials, withoutCredentials, withStockSigner } from './grants.js';
import { measure, measureInterleaved, type MeasureOptions, type Operation, type Rate } from './measure.js';
import { checkCreds } from './nats-server.js';
import { machineFacts, percent, perSecond, rateRow, table } from './report.js';
import { revocationBench } from './revocations.js';
import { setUp, type Bench } from './setup.js';
import { signingRates } from './signing.js';
import { httpBench } from './http/run.js';
import { replicaSuite } from './http/replicas.js';
import { calloutBench } from './callout.js';
import { clientBench } from './client/run.js';

const QUICK = process.argv.includes('--quick');
const PG_URL = process.env.SNOWGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ALL_POOLS = ['10:0.1', '10:0.9', '16:0.1', '16:0.9', '22:0.1', '22:0.9'];
// BENCH_POOLS="10:0.1,16:0.9" picks pools (14 bits too); --quick leaves out the 22-bit pool at 90 % (3.8 M leases).
const POOLS = process.env.BENCH_POOLS?.split(',') ?? (QUICK ? ALL_POOLS.slice(0, 5) : ALL_POOLS);

// A few workloads at once, as a fleet rolling out would be; the store serializes them anyway.
const IN_FLIGHT = 8;
const FAST: MeasureOptions = { warmupMs: 500, durationMs: 3000, inFlight: IN_FLIGHT };
// The stock signer manages a few dozen a second: a count cap keeps the run short.
const SLOW: MeasureOptions = { warmupMs: 300, durationMs: 3000, inFlight: IN_FLIGHT, maxOps: 90 };
const SLICES = 6;
const MICRO_FAST: MeasureOptions = { warmupMs: 200, durationMs: 1000, inFlight: 1 };
const MICRO_SLOW: MeasureOptions = { warmupMs: 100, durationMs: 1000, inFlight: 1, maxOps: 30 };

/** One grant outside the window, its creds shown to nats-server: only working credentials count. */
async function proven(b: Bench, op: Operation): Promise<Operation> {
  const creds = await op(0);
  if (typeof creds === 'string') await checkCreds(b.nats.url, creds);
  return op;
}

const cleanup = new Cleanup();

const SUITES: Record<string, () => Promise<void>> = {
  registry: registryBench,
  client: () => clientBench(cleanup, { quick: QUICK }),
  callout: async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'snowgate-bench-'));
    cleanup.defer(() => rmSync(root, { recursive: true, force: true }));
    await calloutBench(root, cleanup, FAST, SLICES);
  },
  postgres: async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'snowgate-bench-'));
    cleanup.defer(() => rmSync(root, { recursive: true, force: true }));
    await replicaSuite(root, PG_URL, QUICK, cleanup);
  },
};

async function main(): Promise<void> {
  cleanup.onSignals();
  const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const unknown = named.filter((n) => !(n in SUITES));
  if (unknown.length > 0)
    throw new Error(`no bench suite ${unknown.join(', ')}; suites: ${Object.keys(SUITES).join(', ')}`);
  try {
    // `postgres` is part of `registry`: not run twice by default.
    for (const name of named.length > 0 ? named : ['registry', 'client', 'callout']) await SUITES[name]!();
  } finally {
    await cleanup.run();
  }
}

async function registryBench(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'snowgate-bench-'));
  cleanup.defer(() => rmSync(root, { recursive: true, force: true }));
  const b = await setUp(root, cleanup);

  console.log('snowgate bench: leases granted per second (acquire + release)');
  for (const line of machineFacts(root, b.nats.version)) console.log(line);
  console.log(
    `${IN_FLIGHT} grants in flight; ${FAST.durationMs / 1000} s each after warm-up, the first two in ${SLICES} alternating slices\n`,
  );

  // The headline ratio compares these two, so they share the machine's ups and downs.
  const [without, native] = (await measureInterleaved(
    [await proven(b, withoutCredentials(b)), await proven(b, withNativeCredentials(b))],
    FAST,
    SLICES,
  )) as [Rate, Rate];
  const stock = await measure(await proven(b, withStockSigner(b)), SLOW);
  const jwts = await signingRates(b, MICRO_FAST, MICRO_SLOW);

  console.log(
    table([
      ['grant', 'grants/s', 'vs without', 'measured'],
      rateRow('without credentials', without, without),
      rateRow('with credentials (native signer)', native, without),
      rateRow('with stock signer (@nats-io/jwt+nkeys)', stock, without),
    ]),
  );
  console.log(
    `\nJWTs signed/s: native ${perSecond(jwts.native)}, @nats-io/jwt+@nats-io/nkeys ${perSecond(jwts.stock)}` +
      ` (native is ${(jwts.native.perSecond / jwts.stock.perSecond).toFixed(0)}x)`,
  );
  console.log(`with credentials / without = ${percent(native.perSecond / without.perSecond)} (target ≥ 50%)`);

  await revocationBench(root, cleanup, FAST, SLICES);
  await httpBench(
    root,
    {
      quick: QUICK,
      pools: POOLS,
      pgUrl: PG_URL,
    },
    cleanup,
  );
}

main().catch((e: unknown) => {
  if (!cleanup.interrupted) console.error('bench failed:', e);
  process.exitCode = 1;
});
