/**
 * Sealing and opening auth callout messages (nats-server's "xkv1" format: header, 24-byte nonce,
 * NaCl box), byte-compatible with @nats-io/nkeys' curve keys.
 *
 * Why not call nkeys' seal/open: each computes the X25519 shared key again in pure JS (~4 ms), so
 * a burst of 200 connects queues ~2 s of crypto and the servers time the last ones out (their
 * callout wait is 2 s). The shared key depends only on the two xkeys, and a server keeps its xkey
 * for its lifetime: computed once per server here, each message then costs a secretbox (µs).
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { decodeCurvePublicKey, decodeCurveSeed } from './nkey.js';

const HEADER = new Uint8Array([120, 107, 118, 49]); // "xkv1"
const NONCE_BYTES = 24;
/** Servers a process has seen; more than this (a churning fleet) starts the cache afresh. */
const MAX_PEERS = 1024;

export class XkeyBox {
  readonly #secret: Uint8Array;
  readonly #shared = new Map<string, Uint8Array>();

  constructor(seed: string) {
    this.#secret = decodeCurveSeed(seed);
  }

  #key(peer: string): Uint8Array {
    let k = this.#shared.get(peer);
    if (!k) {
      if (this.#shared.size >= MAX_PEERS) this.#shared.clear();
      k = nacl.box.before(decodeCurvePublicKey(peer), this.#secret);
      this.#shared.set(peer, k);
    }
    return k;
  }

  /** The plaintext `sender` sealed for us, or null when it is not one (another key, tampered with). */
  open(message: Uint8Array, sender: string): Uint8Array | null {
    if (message.length <= HEADER.length + NONCE_BYTES) return null;
    for (let i = 0; i < HEADER.length; i++) if (message[i] !== HEADER[i]) return null;
    const nonce = message.subarray(HEADER.length, HEADER.length + NONCE_BYTES);
    return nacl.box.open.after(message.subarray(HEADER.length + NONCE_BYTES), nonce, this.#key(sender));
  }

  seal(message: Uint8Array, recipient: string): Uint8Array {
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const box = nacl.box.after(message, nonce, this.#key(recipient));
    const out = new Uint8Array(HEADER.length + NONCE_BYTES + box.length);
    out.set(HEADER);
    out.set(nonce, HEADER.length);
    out.set(box, HEADER.length + NONCE_BYTES);
    return out;
  }
}
