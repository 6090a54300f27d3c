/**
 * The micro view under the grant numbers: user JWTs signed per second, with nothing else in the
 * loop. Both sides sign identical claims with the same account signing key and user key, so what
 * differs is the signing: Node's Ed25519 (OpenSSL) with the key imported once, against tweetnacl
 * in pure JS, whose KeyPair re-derives the key from the seed on every getPublicKey() and sign()
 * (encodeUser calls them four times a JWT).
 */
import { encodeUser } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import { newUserCreds, issueUserJwt } from '../src/nats/user-jwt.js';
import { createSigner } from '../src/nats/signer.js';
import { measure, type MeasureOptions, type Rate } from './measure.js';
import type { Lease } from '../src/registry/types.js';
import type { Bench } from './setup.js';
import { userClaims } from './grants.js';

export async function signingRates(
  b: Bench,
  native: MeasureOptions,
  stock: MeasureOptions,
): Promise<{ native: Rate; stock: Rate }> {
  const user = newUserCreds();
  const now = Date.now();
  const lease: Lease = {
    id: 'bench',
    pool: 'default',
    node: 7,
    generation: 1,
    principal: { issuer: 'bench', subject: 'workload-0' },
    issuedAt: now,
    expiresAt: now + 600_000,
    notBefore: now,
  };
  const c = userClaims(b, lease);
  const account = b.keys.account.publicKey;
  const seed = b.keys.signingKey.seed;

  // Made once, as the authority caches one signer per key: importing the key is not signing.
  const nativeSigner = createSigner(seed);
  const nativeRate = await measure(async () => {
    issueUserJwt({
      account,
      signingKey: nativeSigner,
      userPublicKey: user.publicKey,
      name: c.name,
      expiresAtMs: lease.expiresAt,
      pub: c.pub.allow,
      sub: c.sub.allow,
      tags: c.tags,
    });
  }, native);

  const stockSigner = fromSeed(new TextEncoder().encode(seed));
  const stockRate = await measure(
    () =>
      encodeUser(
        c.name,
        user.publicKey,
        account,
        { pub: c.pub, sub: c.sub, tags: c.tags },
        { signer: stockSigner, exp: c.exp },
      ),
    stock,
  );
  return { native: nativeRate, stock: stockRate };
}
