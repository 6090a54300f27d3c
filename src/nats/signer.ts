/**
 * An nkey signer on Node's built-in Ed25519 (OpenSSL): ~8000 JWTs/s where @nats-io/nkeys'
 * tweetnacl manages ~30. Ed25519 is deterministic, so signatures are byte-identical.
 *
 * It has the shape of @nats-io/nkeys' KeyPair, so it also plugs into @nats-io/jwt's
 * `encodeUser`/`encodeAccount` as `signer`.
 */
import { sign, verify, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyPair } from '@nats-io/nkeys';
import {
  decodePublicKey,
  decodeSeed,
  encodePrivateKey,
  privateKeyFromRaw,
  publicKeyOf,
  type NkeyRole,
} from './nkey.js';

export class NativeSigner implements KeyPair {
  readonly role: NkeyRole;
  readonly publicKey: string;
  readonly #seed: string;
  // One KeyObject per signing key: importing the DER costs more than a signature.
  readonly #key: KeyObject;
  readonly #public: KeyObject;

  constructor(seed: string) {
    const { role, raw } = decodeSeed(seed);
    this.role = role;
    this.#seed = seed;
    this.#key = privateKeyFromRaw(raw);
    this.#public = createPublicKey(this.#key);
    this.publicKey = publicKeyOf(role, this.#key);
  }

  get seed(): string {
    return this.#seed;
  }

  getPublicKey(): string {
    return this.publicKey;
  }

  getSeed(): Uint8Array {
    return new TextEncoder().encode(this.#seed);
  }

  getPrivateKey(): Uint8Array {
    const { raw } = decodeSeed(this.#seed);
    return new TextEncoder().encode(encodePrivateKey(raw, decodePublicKey(this.publicKey)));
  }

  sign(data: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, data, this.#key));
  }

  verify(data: Uint8Array, signature: Uint8Array): boolean {
    return verify(null, data, this.#public, signature);
  }

  clear(): void {
    // KeyObjects cannot be wiped from JS; callers drop the signer instead.
  }

  seal(): Uint8Array {
    throw new Error('an Ed25519 signer cannot seal');
  }

  open(): Uint8Array | null {
    throw new Error('an Ed25519 signer cannot open');
  }
}

/** A signer for an nkey seed ("SO…", "SA…", "SU…"). */
export function createSigner(seed: string): NativeSigner {
  return new NativeSigner(seed);
}
