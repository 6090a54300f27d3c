/** The raw limits a grant sits on, measured in the same run: jose verification and SQLite commits. */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { jwtVerify } from 'jose';
import type { BenchIssuer } from './issuer.js';

async function rate(ms: number, op: () => unknown): Promise<number> {
  const until = performance.now() + ms;
  const start = performance.now();
  let n = 0;
  while (performance.now() < until) {
    await op();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/** RS256 verifications per second, as the registry does them (a cached key, issuer and audience checked). */
export async function joseVerifies(issuer: BenchIssuer, ms: number): Promise<number> {
  const token = await issuer.token('verify');
  await rate(200, () => jwtVerify(token, issuer.publicKey, { issuer: issuer.issuer, audience: 'snowgate' }));
  return rate(ms, () => jwtVerify(token, issuer.publicKey, { issuer: issuer.issuer, audience: 'snowgate' }));
}

/** One-row transactions per second on a file in `dir`, WAL with synchronous=FULL: one fsync each, the disk's pace. */
export async function sqliteCommits(dir: string, ms: number): Promise<number> {
  const db = new Database(path.join(dir, 'commits.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const tx = db.transaction(() => insert.run('x'));
  try {
    await rate(200, () => tx.immediate());
    return await rate(ms, () => tx.immediate());
  } finally {
    db.close();
  }
}
