/**
 * The three grants compared, each a full lease cycle (acquire, then release so the pool never
 * runs dry). Every worker is its own principal, as concurrent workloads are. Each operation
 * returns the creds it produced so run.ts can prove one of them against nats-server.
 */
import { encodeUser, fmtCreds } from '@nats-io/jwt';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { expandPermissions } from '../src/nats/permissions.js';
import type { Lease, Principal } from '../src/registry/types.js';
import type { Operation } from './measure.js';
import { POOL, type Bench } from './setup.js';

const policy = { dynamic: true };
const principal = (worker: number): Principal => ({ issuer: 'bench', subject: `workload-${worker}` });

/** 1. The lease alone: the registry's floor, with no NATS configured. */
export function withoutCredentials(b: Bench): Operation {
  return async (worker) => {
    const p = principal(worker);
    const { lease } = await b.registry.acquire({ principal: p, policy, pool: POOL.name });
    await b.registry.release(lease.id, p);
    return undefined;
  };
}

/** 2. What POST /v1/leases does for a body without natsPublicKey: a fresh user key, then its JWT. */
export function withNativeCredentials(b: Bench): Operation {
  return async (worker) => {
    const p = principal(worker);
    const user = b.credentials.newUser();
    const { lease } = await b.registry.acquire({
      principal: p,
      policy,
      pool: POOL.name,
      natsPublicKey: user.publicKey,
    });
    const issued = b.credentials.issue(lease, user.seed);
    await b.registry.release(lease.id, p);
    return issued.creds;
  };
}

/** The seed of the key the authority signs with: stock and native must sign with the same key. */
function activeSeed(b: Bench): string {
  const active = b.authority.keys().keys.find((k) => k.state === 'active');
  if (active?.publicKey !== b.keys.signingKey.publicKey) throw new Error('the active signing key is not the init one');
  return b.keys.signingKey.seed;
}

/** The same claims LeaseCredentials.issue signs, for the stock encoder. */
export function userClaims(b: Bench, lease: Lease) {
  const values = {
    pool: lease.pool,
    node: lease.node,
    subject: lease.principal.subject,
    issuer: lease.principal.issuer,
  };
  return {
    name: `${lease.principal.issuer}:${lease.principal.subject}`,
    pub: { allow: expandPermissions(b.natsConfig.permissions.publish, values) },
    sub: { allow: expandPermissions(b.natsConfig.permissions.subscribe, values) },
    tags: [`pool:${lease.pool}`, `node:${lease.node}`],
    exp: Math.floor(lease.expiresAt / 1000),
  };
}

/**
 * 3. The same grant with what the npm peers give out of the box: an @nats-io/nkeys user key and
 * @nats-io/jwt's encodeUser signed by an @nats-io/nkeys KeyPair (pure-JS tweetnacl underneath).
 */
export function withStockSigner(b: Bench): Operation {
  const signer = fromSeed(new TextEncoder().encode(activeSeed(b)));
  const account = b.keys.account.publicKey;
  const td = new TextDecoder();
  return async (worker) => {
    const p = principal(worker);
    const user = createUser();
    const { lease } = await b.registry.acquire({
      principal: p,
      policy,
      pool: POOL.name,
      natsPublicKey: user.getPublicKey(),
    });
    const { name, pub, sub, tags, exp } = userClaims(b, lease);
    const jwt = await encodeUser(name, user, account, { pub, sub, tags }, { signer, exp });
    const creds = td.decode(fmtCreds(jwt, user));
    await b.registry.release(lease.id, p);
    return creds;
  };
}
