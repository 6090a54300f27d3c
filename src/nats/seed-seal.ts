/**
 * Signing-key seeds at rest: sealed with AES-256-GCM under a key-encryption key (KEK) that lives in a
 * file beside the registry (`nats.keyEncryptionKeyFile`, 0600, the same on every replica), never in
 * the store. A copy of the store without that file yields no usable seed: whoever reads the database
 * (a backup, a replica's credentials) cannot sign user JWTs.
 *
 * A sealed seed is `sealed:v1:<kek id>:<iv>:<ciphertext>:<tag>` (base64url), bound to its public key
 * as associated data, so a sealed seed moved to another key's entry does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';

const PREFIX = 'sealed:v1:';
const KEK_BYTES = 32;
const IV_BYTES = 12;

/** The KEK file is missing or not a KEK; the message names the file and what to do. */
export class InvalidKek extends Error {}

/** A seed that does not open with this KEK: another KEK, or tampered with. */
export class SealedSeedError extends Error {}

export class SeedSealer {
  /** The first bytes of the KEK's SHA-256: names which KEK sealed a seed, without revealing it. */
  readonly id: string;
  readonly #kek: Buffer;

  constructor(kek: Buffer) {
    if (kek.length !== KEK_BYTES) throw new InvalidKek(`a key-encryption key is ${KEK_BYTES} bytes, not ${kek.length}`);
    this.#kek = Buffer.from(kek);
    this.id = createHash('sha256').update(kek).digest('base64url').slice(0, 11);
  }

  static isSealed(seed: string): boolean {
    return seed.startsWith(PREFIX);
  }

  seal(seed: string, publicKey: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#kek, iv);
    cipher.setAAD(Buffer.from(publicKey));
    const body = Buffer.concat([cipher.update(seed, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.id}:${[iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join(':')}`;
  }

  open(sealed: string, publicKey: string): string {
    const [id, iv, body, tag] = sealed.slice(PREFIX.length).split(':');
    if (!sealed.startsWith(PREFIX) || id === undefined || iv === undefined || body === undefined || tag === undefined) {
      throw new SealedSeedError(`the seed of ${publicKey} is not a sealed seed`);
    }
    if (id !== this.id) {
      throw new SealedSeedError(
        `the seed of ${publicKey} was sealed with key-encryption key ${id}; nats.keyEncryptionKeyFile holds ${this.id}`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#kek, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(publicKey));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSeedError(`the sealed seed of ${publicKey} does not open: tampered with, or not for this key`);
    }
  }
}

/** Reads a KEK file: one line of base64url, 32 bytes. */
export async function loadKek(file: string): Promise<SeedSealer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidKek(`cannot read ${file}: ${(e as Error).message}`);
  }
  const kek = Buffer.from(text.trim(), 'base64url');
  if (kek.length !== KEK_BYTES || kek.toString('base64url') !== text.trim()) {
    throw new InvalidKek(`${file}: not a key-encryption key (one line of base64url, ${KEK_BYTES} bytes)`);
  }
  return new SeedSealer(kek);
}

/** Writes a fresh KEK to `file` (0600 whatever the umask); refuses to overwrite one. */
export async function writeKek(file: string): Promise<void> {
  await writeFile(file, `${randomBytes(KEK_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}
