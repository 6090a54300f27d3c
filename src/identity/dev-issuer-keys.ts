import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/**
 * The dev issuer's private signing keys. Kept in a file (0600) when one is given, so tokens
 * minted before a restart still verify and `snowgate dev` does not invalidate every client's
 * token each time it starts; generated (RS256) when the file does not exist yet.
 */
export async function loadSigningKeys(file: string | undefined): Promise<{ keys: JWK[] }> {
  if (file === undefined) return { keys: [await newSigningKey()] };
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== undefined) return parseKeys(text, file);
  const jwks = { keys: [await newSigningKey()] };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written aside then renamed, so a crash never leaves a half-written key file behind.
  const aside = `${file}.${randomUUID()}.tmp`;
  await writeFile(aside, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(aside, file);
  return jwks;
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

function parseKeys(text: string, file: string): { keys: JWK[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not a JSON Web Key Set`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  const ok = Array.isArray(keys) && keys.length > 0 && keys.every((k) => isPrivateJwk(k));
  if (!ok) throw new Error(`${file}: expected a JSON Web Key Set of private signing keys`);
  return { keys: keys as JWK[] };
}

function isPrivateJwk(k: unknown): boolean {
  return k !== null && typeof k === 'object' && typeof (k as JWK).kty === 'string' && typeof (k as JWK).d === 'string';
}
