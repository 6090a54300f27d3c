/** A real `snowgate serve` child process for the HTTP bench, started from a config object. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface Served {
  url: string;
  /** The serve process, whose main thread is its event loop. */
  pid: number;
  stop(): Promise<void>;
}

export async function startServe(dir: string, name: string, config: object): Promise<Served> {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const { port } = (config as { server: { port: number } }).server;
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 600) {
      await stop();
      throw new Error(`serve did not get ready: ${err}`);
    }
    await sleep(50);
  }
  return { url, pid: child.pid!, stop };
}

/** The serve's own `nodejs_eventloop_lag_max_seconds`, in ms; each scrape starts it afresh. */
async function lagMaxMs(url: string): Promise<number | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const m = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

/**
 * `fn`'s value and the longest the serve's event loop stalled while it ran: how long a request
 * that arrived at the worst moment waited behind work that was not its own.
 */
export async function stalled<T>(url: string, fn: () => Promise<T>): Promise<{ value: T; stallMs?: number }> {
  await lagMaxMs(url);
  const value = await fn();
  const stallMs = await lagMaxMs(url);
  return stallMs === undefined ? { value } : { value, stallMs };
}
