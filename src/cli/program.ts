import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerAdmin } from './admin.js';
import { registerDecode } from './decode.js';
import { registerDev } from './dev.js';
import { registerDevIssuer } from './dev-issuer.js';
import { registerInit } from './init.js';
import { registerLease } from './lease.js';
import { PACKAGE_ROOT } from './paths.js';
import { registerServe } from './serve.js';
import { registerWatch } from './watch.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** The `snowgate` command line. Commands are registered on the program so they inherit its settings. */
export function buildProgram(): Command {
  const program = new Command('snowgate')
    .description('leases unique Snowflake node numbers to authenticated workloads, with NATS credentials')
    .version(version())
    // Errors come back as exceptions, so main() alone decides exit codes (CONTRACT §2: 2 for usage).
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`snowgate: ${text.replace(/^error: /, '')}`),
    });
  registerServe(program);
  registerDev(program);
  registerDevIssuer(program);
  registerInit(program);
  registerLease(program);
  registerDecode(program);
  registerAdmin(program);
  registerWatch(program);
  return program;
}
