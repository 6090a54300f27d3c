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
