/**
 * What this process knows of the account's signing keys beyond the shared state: a signer per key
 * (made once: importing a key costs more than a signature), and the latest `exp` it signed with
 * each, merged into the state on every save so that a retiring key stays until its last JWT expired.
 */
import { createSigner, type NativeSigner } from './signer.js';
import type { NatsState, SigningKeyState } from './state.js';

export class SigningKeyBook {
  readonly #signers = new Map<string, NativeSigner>();
  /** Latest `exp` (ms) this process signed per key. */
  readonly #lastExpires = new Map<string, number>();

  signer(k: SigningKeyState): NativeSigner {
    let signer = this.#signers.get(k.publicKey);
    if (!signer) {
      signer = createSigner(k.seed);
      this.#signers.set(k.publicKey, signer);
    }
    return signer;
  }

  noteExpiry(publicKey: string, expiresAtMs: number): void {
    if (expiresAtMs > (this.#lastExpires.get(publicKey) ?? 0)) this.#lastExpires.set(publicKey, expiresAtMs);
  }

  /** Folds this process's expiries into a draft of the state; a retiring key's retireAt follows them. */
  merge(s: NatsState): void {
    for (const k of s.signingKeys) {
      const mine = this.#lastExpires.get(k.publicKey) ?? 0;
      if (mine > (k.lastExpiresAt ?? 0)) k.lastExpiresAt = mine;
      if (k.state === 'retiring' && (k.retireAt ?? 0) < (k.lastExpiresAt ?? 0)) k.retireAt = k.lastExpiresAt;
    }
  }

  /** Retired keys never sign again: forget them. */
  forgetRetired(s: NatsState): void {
    for (const map of [this.#signers, this.#lastExpires]) {
      for (const pk of map.keys()) if (!s.signingKeys.some((k) => k.publicKey === pk)) map.delete(pk);
    }
  }
}
