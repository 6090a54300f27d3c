// What every suite needs: a scratch directory, a free loopback port, waiting for a condition, and
// a plain nats-server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A fresh directory; with a test context `t`, removed after that test. */
export function tempDir(label: string, t?: { after(fn: () => void): void }): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `snowgate-${label}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  t?.after(remove);
  return { dir, remove };
}

/** A port nothing listens on right now (the kernel's choice, released at once). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/** Polls `fn` until it returns something truthy; a throw counts as not yet, and is named on timeout. */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await sleep(20);
  }
}

/** A plain nats-server (no auth) on a port of its choosing; `args` as nats-server takes them. */
export async function plainServer(args: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', '-1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`nats-server did not start:\n${out}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(out);
      if (m && out.includes('Server is ready')) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
  });
  return { child, url: `nats://127.0.0.1:${port}` };
}
