// The nats-server 2.10 the auth callout tests run on: $SNOWGATE_NATS_SERVER_210, or the one
// .ci/nats-server-210.sh fetches (once) into a private cache.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let cached: string | undefined;

export function natsServer210(): string {
  cached ??= execFileSync('bash', [path.join(ROOT, '.ci/nats-server-210.sh')], { encoding: 'utf8' }).trim();
  return cached;
}
