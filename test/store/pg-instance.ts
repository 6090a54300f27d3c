/**
 * PostgreSQL for fault tests: a fresh database on the shared server (never restarted), or a
 * private instance this test starts itself (initdb into a temporary folder, on a free port), which
 * it may stop, restart and kill as it likes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../nats/harness.js';

export const PG_URL = process.env.SNOWGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database on the shared server; `drop` removes it (and ends its connections). */
export async function freshDatabase(baseUrl = PG_URL): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `sg_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Ends every connection to `database` but the caller's, as an operator's pg_terminate_backend would. */
export async function terminateBackends(baseUrl: string, database: string): Promise<number> {
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    return r.rowCount ?? 0;
  } finally {
    await c.end();
  }
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  return path.dirname(execFileSync('which', ['initdb'], { encoding: 'utf8' }).trim());
}

export interface PgInstance {
  url: string;
  stop(): void;
  start(): void;
  /** Removes the instance and its files. */
  destroy(): void;
}

/**
 * initdb + pg_ctl on a free loopback port. PostgreSQL refuses to run as root, so as root (CI) the
 * folder is handed to the `postgres` user and the binaries run as it.
 */
export async function startPrivatePostgres(): Promise<PgInstance> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const cmd = asRoot ? 'runuser' : path.join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
  const start = () => run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', 'start']);
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  let up = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      stop();
      up = false;
    },
    start: () => {
      start();
      up = true;
    },
    destroy: () => {
      if (up) stop();
      up = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
