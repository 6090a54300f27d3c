/**
 * A real nats-server for tests, in operator mode from `snowgate init`: started with `-p -1` (a
 * port of the server's choosing, read back from its log, so no other process can take it between
 * a pick and the spawn) and restartable on the same port with its state kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface TestNatsServer {
  /** The `snowgate init` folder: keys, nats-server.conf, resolver and JetStream state. */
  dir: string;
  url: string;
  port: number;
  /** Everything the server logged so far. */
  output(): string;
  /** Stops it (SIGTERM), keeping its state for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and state. */
  restart(): Promise<void>;
}

export interface TestNatsServerOptions {
  /** A folder `snowgate init` wrote. */
  dir: string;
  /** @default 'nats-server' (the first on PATH) */
  bin?: string;
  /** The config file to run. @default DIR/nats-server.conf (one that includes it can add settings) */
  config?: string;
  /** @default -1: a port of the server's choosing */
  port?: number;
  /** More arguments for nats-server. */
  args?: string[];
  /** @default 10_000 */
  startTimeoutMs?: number;
}

const LISTENING = /Listening for client connections on [^\s]*:(\d+)/;

export async function startNatsServer(o: TestNatsServerOptions): Promise<TestNatsServer> {
  let child: ChildProcess | undefined;
  let out = '';
  let port = o.port ?? -1;
  const launch = async (): Promise<void> => {
    const config = o.config ?? path.join(o.dir, 'nats-server.conf');
    const args = ['-c', config, '-a', '127.0.0.1', '-p', String(port), ...(o.args ?? [])];
    const c = spawn(o.bin ?? 'nats-server', args, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const started = out.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`nats-server did not start in time:\n${out.slice(started)}`));
      }, o.startTimeoutMs ?? 10_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        const m = LISTENING.exec(out.slice(started));
        if (m && /Server is ready/.test(out.slice(started))) {
          clearTimeout(timer);
          port = Number(m[1]);
          resolve();
        }
      };
      c.stdout.on('data', onData);
      c.stderr.on('data', onData);
      c.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited ${code}:\n${out.slice(started)}`));
      });
    });
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((ok) => c.once('exit', ok));
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    dir: o.dir,
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    output: () => out,
    stop,
    restart: launch,
  };
}
