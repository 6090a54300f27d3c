/**
 * What POST /v1/leases does between the caller's identity and the registry: the per-principal
 * rate limit, the NATS user key (the caller's, checked, or a fresh one), the revocation budget's
 * slot, then the grant. Free of fastify, so the route only reads the request and writes the answer.
 */
import { InvalidRequest, RateLimited } from '../errors.js';
import type { CredentialsPort, ServiceIdentity } from './ports.js';
import { isPublicKey } from '../nats/nkey.js';
import type { RateLimiter } from '../registry/rate-limit.js';
import type { Grant, Registry } from '../registry/registry.js';

export interface GrantRequest {
  pool?: string;
  instance?: string;
  node?: number;
  natsPublicKey?: string;
}

export interface GrantDeps {
  registry: Registry;
  credentials?: CredentialsPort;
  acquireLimiter: RateLimiter;
}

/** The grant, and the seed of the user key made for it when the caller sent none. */
export async function grantLease(
  deps: GrantDeps,
  who: ServiceIdentity,
  body: GrantRequest,
): Promise<{ g: Grant; seed?: string }> {
  const { principal, issuer } = who;
  const wait = deps.acquireLimiter.take(`${principal.issuer}:${principal.subject}`);
  if (wait > 0) throw new RateLimited('too many lease requests from this principal', wait);
  if (body.natsPublicKey !== undefined && !isPublicKey(body.natsPublicKey, 'user')) {
    throw new InvalidRequest('natsPublicKey: not a NATS user public key (its checksum does not match)');
  }
  const { credentials } = deps;
  const user = credentials && body.natsPublicKey === undefined ? credentials.newUser() : undefined;
  const natsPublicKey = credentials ? (body.natsPublicKey ?? user?.publicKey) : undefined;
  // The token's instance (a pod name, an AWS session) unless the request names one.
  const instance = body.instance ?? who.instance;
  const slot = credentials?.admit();
  try {
    const g = await deps.registry.acquire({
      principal,
      policy: {
        dynamic: issuer.dynamic,
        ...(issuer.pools ? { pools: issuer.pools } : {}),
        ...(issuer.maxPrincipals !== undefined ? { maxPrincipals: issuer.maxPrincipals } : {}),
      },
      pool: body.pool ?? 'default',
      ...(instance !== undefined ? { instance } : {}),
      ...(body.node !== undefined ? { node: body.node } : {}),
      ...(natsPublicKey !== undefined ? { natsPublicKey } : {}),
    });
    slot?.granted();
    return { g, ...(user ? { seed: user.seed } : {}) };
  } finally {
    slot?.abandoned(); // a no-op once granted
  }
}
