/**
 * `npm run bench -- client`: the client SDK's hot paths, each against its peer or raw limit in
 * the same run (issue 6, "Performance"): ID generators, LineageVerifier.check, stamped publish.
 */
import os from 'node:os';
import type { Cleanup } from '../cleanup.js';
import { fabricBench } from './fabric.js';
import { generatorBench } from './generators.js';

export async function clientBench(cleanup: Cleanup, o: { quick: boolean }): Promise<void> {
  const [one, five] = os.loadavg();
  console.log(
    `\nsnowgate bench: client (node ${process.version}, ${os.availableParallelism()} CPUs: ${os.cpus()[0]?.model ?? 'unknown'}; ` +
      `load average ${one!.toFixed(1)} / ${five!.toFixed(1)} at the start)`,
  );
  generatorBench({ windowMs: o.quick ? 3000 : 6000, slices: 6 });
  await fabricBench(cleanup, {
    checkedPerPass: 100_000,
    signedPerPass: o.quick ? 2_000 : 5_000,
    passes: 3,
    publish: { warmupMs: 500, durationMs: o.quick ? 3000 : 6000, inFlight: 1 },
    slices: 6,
    payloadSizes: [64, 1024],
  });
}
