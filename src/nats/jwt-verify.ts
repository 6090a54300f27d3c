/**
 * A NATS JWT checked against the nkey it names as its issuer: how the auth callout knows a
 * request comes from a nats-server (each signs its requests with its own "N…" nkey, and names
 * that key as its server id) rather than from anyone else able to publish on the callout subject.
 */
import { verify } from 'node:crypto';
import type { ClaimsData } from '@nats-io/jwt';
import { decodePublicKey, publicKeyFromRaw, type NkeyRole } from './nkey.js';

export class UnverifiedJwt extends Error {}

function json(part: string, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UnverifiedJwt(`its ${what} is not JSON`);
}

/** The claims of `jwt`, once its signature verifies by its `iss`, an nkey of `role`; else throws UnverifiedJwt. */
export function verifiedClaims<T>(jwt: string, role: NkeyRole): ClaimsData<T> {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new UnverifiedJwt('not a JWT');
  const [header, body, signature] = parts as [string, string, string];
  const h = json(header, 'header');
  if (h.typ !== 'JWT' || (h.alg !== 'ed25519-nkey' && h.alg !== 'ed25519')) {
    throw new UnverifiedJwt('not a NATS JWT (typ JWT, alg ed25519-nkey)');
  }
  const claims = json(body, 'body');
  let raw: Uint8Array;
  try {
    raw = decodePublicKey(String(claims.iss), role);
  } catch {
    throw new UnverifiedJwt(`its issuer is not a ${role} nkey`);
  }
  if (!verify(null, Buffer.from(`${header}.${body}`), publicKeyFromRaw(raw), Buffer.from(signature, 'base64url'))) {
    throw new UnverifiedJwt('its signature does not verify by its issuer');
  }
  return claims as unknown as ClaimsData<T>;
}
