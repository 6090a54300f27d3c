/**
 * A nats.js authenticator for a user JWT and its seed that signs the server's nonce with Node's
 * Ed25519. nats.js' own (jwtAuthenticator, credsAuthenticator) derives the key from the seed and
 * signs in pure JS on every connect, ~30 ms of a busy event loop each: harmless once, a stall for
 * a process that opens many connections, or answers auth callouts on the same loop.
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import type { Authenticator } from '@nats-io/transport-node';
import { decodeSeed, encodePublicKey, privateKeyFromRaw } from '../nats/nkey.js';

export function nativeJwtAuthenticator(jwt: string, seed: string): Authenticator {
  const key: KeyObject = privateKeyFromRaw(decodeSeed(seed).raw);
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  const nkey = encodePublicKey('user', Buffer.from(String(x), 'base64url'));
  return (nonce?: string) => ({
    jwt,
    nkey,
    sig: nonce ? sign(null, Buffer.from(nonce, 'utf8'), key).toString('base64url') : '',
  });
}

/** The JWT and seed of a `.creds` text. */
export function parseCreds(creds: string): { jwt: string; seed: string } {
  const jwt = /-----BEGIN NATS USER JWT-----\s*([^\s-][^\s]*)\s*------END NATS USER JWT------/.exec(creds)?.[1];
  const seed = /-----BEGIN USER NKEY SEED-----\s*(SU[A-Z2-7]+)\s*------END USER NKEY SEED------/.exec(creds)?.[1];
  if (!jwt || !seed) throw new Error('not a NATS .creds text (a user JWT and a user nkey seed)');
  return { jwt, seed };
}
