// What every suite needs: a scratch directory, a free loopback port, and waiting for a condition.
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
