import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { checkToken } from '../client/token.js';

/** Yields a bearer token. Called before every request, since workload tokens rotate (k8s, STS). */
export type TokenSource = () => Promise<string>;

const COMMAND_TIMEOUT_MS = 30_000;

/** Re-reads the file each time: projected service account tokens are replaced in place. */
export function tokenFromFile(file: string): TokenSource {
  return async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new Error(`--token-file: ${(e as Error).message}`);
    }
    return checkToken(text, `--token-file ${file}`);
  };
}

/** Runs the command through the shell each time and takes its standard output. */
export function tokenFromCommand(command: string): TokenSource {
  return () =>
    new Promise((resolve, reject) => {
      execFile(
        '/bin/sh',
        ['-c', command],
        { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err) {
            const why = stderr.trim().split('\n').pop() || err.message;
            reject(new Error(`--token-cmd failed: ${why}`));
            return;
          }
          try {
            resolve(checkToken(stdout, '--token-cmd'));
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        },
      );
    });
}

export function staticToken(token: string): TokenSource {
  const t = checkToken(token, '--token');
  return () => Promise.resolve(t);
}
