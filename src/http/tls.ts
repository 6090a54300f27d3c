import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config/error.js';

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the listener's PEM certificate (chain) and key, and checks that they belong together,
 * so a bad pair is a configuration error naming the key at start, and a failed reload leaves
 * the pair in use alone.
 */
export function readTls(files: { cert: string; key: string }): TlsPair {
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(`server.tls.${key}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const pair = { cert: read(files.cert, 'cert'), key: read(files.key, 'key') };
  try {
    createSecureContext(pair);
  } catch (e) {
    throw new ConfigError(
      `server.tls: ${files.cert} and ${files.key} are not a certificate and its key: ${(e as Error).message}`,
    );
  }
  return pair;
}

/** New connections get the new pair; connections already open keep theirs. */
export function reloadTls(server: Server, files: { cert: string; key: string }): void {
  server.setSecureContext(readTls(files));
}
