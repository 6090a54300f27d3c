import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, openSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { UsageError } from './exit.js';

export interface DevNats {
  dir: string;
  url: string;
  logFile: string;
  /** What `nats-server --version` said, e.g. "2.10.27". */
  version: string;
  /** nats-server 2.10+: the registry answers its auth callout; clients send this sentinel with their token. */
  callout?: { sentinelFile: string };
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** The first `name` on PATH that this process may run. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end();
      ok(true);
    });
    s.on('error', () => ok(false));
  });
}

/** "2.10.27" from `nats-server --version`, or undefined when it does not run. */
function versionOf(bin: string): string | undefined {
  try {
    return /v?(\d+\.\d+\.\d+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 }))?.[1];
  } catch {
    return undefined;
  }
}

/** Whether a version has the auth callout (2.10+). */
export function hasCallout(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

/**
 * The nats-server to run: $SNOWGATE_NATS_SERVER_210, else the 2.10 that .ci/nats-server-210.sh
 * cached (never fetched from here), if either runs and is 2.10+; else the first on PATH.
 */
export function pickNatsServer(env: NodeJS.ProcessEnv = process.env): { bin: string; version: string } | undefined {
  const cache =
    env.SNOWGATE_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(env.HOME ?? '', '.cache'), 'snowgate');
  const candidates = [env.SNOWGATE_NATS_SERVER_210, path.join(cache, 'nats-server-trixie/root/usr/sbin/nats-server')];
  for (const bin of candidates) {
    if (!bin || !existsSync(bin)) continue;
    const version = versionOf(bin);
    if (version && hasCallout(version)) return { bin, version };
  }
  const bin = onPath('nats-server');
  const version = bin ? versionOf(bin) : undefined;
  return bin && version ? { bin, version } : undefined;
}

/**
 * Operator-mode keys made once under DATA/nats (`snowgate init`), then a nats-server child on
 * `natsPort` of loopback (0: a free one), logging to DATA/nats/nats-server.log. With nats-server
 * 2.10+ (pickNatsServer), the keys live under DATA/nats-callout instead, made with the auth
 * callout (`init --auth-callout`): a folder of each kind, as an existing one cannot gain it.
 * Undefined when no nats-server is found.
 */
export async function startDevNats(dataDir: string, natsPort = 0): Promise<DevNats | undefined> {
  const picked = pickNatsServer();
  if (!picked) return undefined;
  const { bin, version } = picked;
  const callout = hasCallout(version);
  const dir = path.join(dataDir, callout ? 'nats-callout' : 'nats');
  const conf = path.join(dir, 'nats-server.conf');
  if (!existsSync(conf)) {
    const init = await import('../nats/init.js');
    await init.initNats(dir, { authCallout: callout }).catch((e: unknown) => {
      // Half a set-up (keys but no server config): the operator must decide what to keep.
      throw e instanceof init.InitRefused
        ? new UsageError(`--data: ${e.message}; remove ${dir} to start NATS afresh`)
        : e;
    });
  } else if (!existsSync(path.join(dir, 'key-encryption.key'))) {
    // A data folder from before seeds were sealed at rest: dev runs one registry, so it adds its own KEK.
    const init = await import('../nats/init.js');
    await init.addKek(dir);
  }
  const port = natsPort || (await freePort());
  const logFile = path.join(dir, 'nats-server.log');
  const log = openSync(logFile, 'a', 0o600);
  const child = spawn(bin, ['-c', conf, '-a', '127.0.0.1', '-p', String(port)], {
    cwd: dir,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited: number | null | undefined;
  const exit = new Promise<void>((ok) =>
    child.on('exit', (code) => {
      exited = code;
      ok();
    }),
  );
  // Also on a crash of this process: a stray nats-server would hold its port and state folder.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const until = Date.now() + READY_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (exited !== undefined || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not start (exit ${String(exited)}); see ${logFile}`);
    }
    await delay(100);
  }
  return {
    dir,
    url: `nats://127.0.0.1:${port}`,
    logFile,
    version,
    ...(callout ? { callout: { sentinelFile: path.join(dir, 'sentinel.creds') } } : {}),
    stop: async () => {
      process.off('exit', killOnExit);
      if (exited === undefined) {
        child.kill('SIGTERM');
        await exit;
      }
    },
  };
}
