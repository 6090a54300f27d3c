/** The stores under test: SQLite on a temporary file, and PostgreSQL on a fresh database of the local server. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export const PG_URL = process.env.SNOWGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: string;
  /** SQLite is one registry process's store; PostgreSQL is shared by replicas. */
  replicas: boolean;
  /** A new empty store, and a way to open the same one again (another replica, or after a restart). */
  create(): Promise<{ store: Store; reopen(): Promise<Store>; drop(): Promise<void>; location: string }>;
  /** `location`: the SQLite file, or the PostgreSQL database's URL. */
}

export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    replicas: false,
    async create() {
      const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-store-'));
      const file = path.join(dir, 'snowgate.db');
      return {
        store: new SqliteStore(file),
        location: file,
        reopen: () => Promise.resolve(new SqliteStore(file)),
        drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
      };
    },
  },
  {
    name: 'postgres',
    replicas: true,
    async create() {
      const db = `sg_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      const url = new URL(PG_URL);
      url.pathname = `/${db}`;
      return {
        store: await PostgresStore.open(url.toString()),
        location: url.toString(),
        reopen: () => PostgresStore.open(url.toString()),
        drop: async () => {
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
          await c.end();
        },
      };
    },
  },
];
