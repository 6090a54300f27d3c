/**
 * A real nats-server in operator mode from the config `initNats` wrote, on a free loopback port
 * (as test/nats/harness.ts does; not imported from there, so the bench does not depend on test
 * code). The authority's publisher needs it to come up ready, and a grant's creds are checked
 * against it once per variant, so the bench never times credentials a server would refuse.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { SERVER_CONF_FILE } from '../src/nats/keys.js';

export interface NatsServer {
  url: string;
  version: string;
  /** What the server logged so far. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((ok) => srv.close(ok));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = net.connect(port, '127.0.0.1', () => (s.end(), ok(true)));
    s.on('error', () => ok(false));
  });
}

/**
 * Starts `nats-server -c DIR/nats-server.conf` and resolves once it accepts connections; with
 * `maxPayload`, from a config that includes that one and sets `max_payload`.
 */
export async function startNatsServer(dir: string, timeoutMs = 10_000, maxPayload?: number): Promise<NatsServer> {
  let version: string;
  try {
    version = execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch (e) {
    throw new Error(`the bench needs nats-server on PATH (Debian: apt-get install nats-server): ${String(e)}`);
  }
  const port = await freePort();
  let conf = path.join(dir, SERVER_CONF_FILE);
  if (maxPayload !== undefined) {
    conf = path.join(dir, 'bench-server.conf');
    writeFileSync(conf, `include "${SERVER_CONF_FILE}"\nmax_payload: ${maxPayload}\n`);
  }
  const args = ['-c', conf, '-a', '127.0.0.1', '-p', String(port)];
  const child = spawn('nats-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let failed: Error | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.on('error', (e) => (failed = e));
  child.on('exit', (code) => (failed ??= new Error(`nats-server exited ${code}: ${out}`)));
  // Last resort for exits that skip the async cleanup (process.exit, a fatal error).
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGTERM');
    await exited;
  };

  const until = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (failed || Date.now() > until) {
      await stop();
      throw failed ?? new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms: ${out}`);
    }
    await sleep(20);
  }
  return { url: `nats://127.0.0.1:${port}`, version, output: () => out, stop };
}

/** Throws unless the server accepts these creds (signature, account and expiry all checked). */
export async function checkCreds(url: string, creds: string): Promise<void> {
  const nc = await connect({
    servers: url,
    authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
    reconnect: false,
  });
  try {
    await nc.flush();
  } finally {
    await nc.close();
  }
}
