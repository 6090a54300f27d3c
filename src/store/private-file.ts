/**
 * Files only the registry's user may read: the SQLite database holds the audit log and the NATS state
 * (sealed seeds, revocations). Folders snowgate makes are 0700 and the database and its WAL files 0600,
 * whatever the umask; an existing database made before this is tightened too.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

/** Makes `file`'s missing folders (0700) and the file itself (0600), and tightens what exists. */
export function preparePrivateFile(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask, and only for folders it made: set it on each of those.
  if (first !== undefined) {
    for (let d = dir; d.length >= first.length; d = path.dirname(d)) chmodSync(d, 0o700);
  }
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}
