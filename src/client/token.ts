/** Where a workload's bearer token comes from. Asked again before every request: tokens rotate. */
import { readFile } from 'node:fs/promises';
import { TokenUnavailableError } from './errors.js';

/** A token, or a function giving one (a projected service-account file, an STS call). */
export type TokenProvider = string | (() => string | Promise<string>);

/** One word, trimmed: a file with a trailing newline is fine, one holding two tokens is not. */
export function checkToken(token: string, from: string): string {
  const t = token.trim();
  if (!t) throw new TokenUnavailableError(`${from} gave an empty token`);
  if (/\s/.test(t)) throw new TokenUnavailableError(`${from} gave more than one word; expected a single token`);
  return t;
}

export async function resolveToken(p: TokenProvider): Promise<string> {
  if (typeof p === 'string') return checkToken(p, 'the token');
  let t: string;
  try {
    t = await p();
  } catch (e) {
    if (e instanceof TokenUnavailableError) throw e;
    throw new TokenUnavailableError(`the token source failed: ${(e as Error).message}`, { cause: e });
  }
  return checkToken(t, 'the token source');
}

/** Re-reads the file at every call: Kubernetes replaces projected tokens in place. */
export function tokenFromFile(file: string): () => Promise<string> {
  return async () => {
    try {
      return checkToken(await readFile(file, 'utf8'), `token file ${file}`);
    } catch (e) {
      if (e instanceof TokenUnavailableError) throw e;
      throw new TokenUnavailableError(`token file: ${(e as Error).message}`, { cause: e });
    }
  };
}
