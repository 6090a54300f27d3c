/**
 * A registry and nats-server (snowgate/testing) in a process of their own, for the client bench.
 * In the bench's own process the server's async hooks would tax every promise the client makes,
 * which a real service never pays. Prints one JSON line (registry URL, NATS URL, a token), then
 * runs until its standard input closes or it is sent SIGTERM.
 */
import { startTestRegistry } from '../../src/testing/index.js';

export interface RegistryProcessInfo {
  url: string;
  natsUrl: string;
  token: string;
}

const reg = await startTestRegistry({ nats: true, lease: { ttl: '10m', maxClockSkew: '1s' } });
let stopping: Promise<void> | undefined;
const stop = (): Promise<void> => (stopping ??= reg.close().finally(() => process.exit(0)));
process.once('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop()).resume();
if (!reg.nats) {
  console.error('the client bench needs nats-server on PATH (Debian: apt-get install nats-server)');
  await stop();
} else {
  const info: RegistryProcessInfo = { url: reg.url, natsUrl: reg.nats.url, token: await reg.token('service-a') };
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
