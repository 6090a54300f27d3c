/** The stores under test: SQLite on a temporary file, and PostgreSQL on a fresh database of the local server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { freshDatabase, PG_URL } from './pg-instance.js';

export { PG_URL };

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
      const db = await freshDatabase();
      return {
        store: await PostgresStore.open(db.url),
        location: db.url,
        reopen: () => PostgresStore.open(db.url),
        drop: () => db.drop(),
      };
    },
  },
];
