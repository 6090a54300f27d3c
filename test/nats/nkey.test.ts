// The native nkey codec and signer must be indistinguishable from @nats-io/nkeys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccount, createOperator, createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import { decode as decodeJwt } from '@nats-io/jwt';
import {
  decodePublicKey,
  decodeSeed,
  encodePublicKey,
  encodeSeed,
  generateNkey,
  InvalidNkey,
  isPublicKey,
} from '../../src/nats/nkey.js';
import { createSigner } from '../../src/nats/signer.js';
import { issueUserJwt } from '../../src/nats/user-jwt.js';

const te = new TextEncoder();
const td = new TextDecoder();

describe('nkey codec', () => {
  it('derives the same public key and private key as @nats-io/nkeys', () => {
    for (const kp of [createOperator(), createAccount(), createUser()]) {
      const seed = td.decode(kp.getSeed());
      const s = createSigner(seed);
      assert.equal(s.publicKey, kp.getPublicKey());
      assert.equal(td.decode(s.getPrivateKey()), td.decode(kp.getPrivateKey()));
      const { role, raw } = decodeSeed(seed);
      assert.equal(encodeSeed(role, raw), seed);
      assert.equal(encodePublicKey(role, decodePublicKey(kp.getPublicKey(), role)), kp.getPublicKey());
    }
  });

  it('generates keys @nats-io/nkeys accepts', () => {
    for (const role of ['operator', 'account', 'user'] as const) {
      const k = generateNkey(role);
      assert.equal(k.publicKey[0], { operator: 'O', account: 'A', user: 'U' }[role]);
      assert.equal(k.seed.slice(0, 2), `S${k.publicKey[0]}`);
      assert.equal(fromSeed(te.encode(k.seed)).getPublicKey(), k.publicKey);
      assert.equal(fromPublic(k.publicKey).getPublicKey(), k.publicKey);
    }
  });

  it('refuses corrupted keys and the wrong role', () => {
    const u = generateNkey('user');
    const flipped = u.publicKey.slice(0, 10) + (u.publicKey[10] === 'A' ? 'B' : 'A') + u.publicKey.slice(11);
    assert.throws(() => decodePublicKey(flipped), InvalidNkey);
    assert.throws(() => decodePublicKey(u.publicKey, 'account'), InvalidNkey);
    assert.throws(() => decodePublicKey(u.publicKey + 'A'), InvalidNkey);
    assert.throws(() => decodePublicKey('U' + '1'.repeat(55)), InvalidNkey);
    assert.throws(() => decodeSeed(u.publicKey), InvalidNkey);
    assert.throws(() => decodePublicKey(u.publicKey.slice(0, 55) + 'é'), InvalidNkey);
    assert.throws(() => decodePublicKey(u.publicKey.toLowerCase()), InvalidNkey);
    // A seed's last character carries two spare bits: set, they spell the same bytes another way.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const last = alphabet.indexOf(u.seed.at(-1)!);
    assert.equal(last & 3, 0);
    assert.equal(decodeSeed(u.seed).raw.length, 32);
    assert.throws(() => decodeSeed(u.seed.slice(0, -1) + alphabet[last | 1]!), /wrong length/);
    assert.equal(isPublicKey(u.publicKey, 'user'), true);
    assert.equal(isPublicKey(u.seed), false);
  });
});

describe('native signer', () => {
  it('signs byte-identically to @nats-io/nkeys, and verifies its signatures', () => {
    const kp = createAccount();
    const s = createSigner(td.decode(kp.getSeed()));
    const data = te.encode('snowgate');
    assert.deepEqual(s.sign(data), kp.sign(data));
    assert.equal(kp.verify(data, s.sign(data)), true);
    assert.equal(s.verify(data, kp.sign(data)), true);
    assert.equal(s.verify(te.encode('other'), kp.sign(data)), false);
  });

  it('issues 1000 user JWTs whose signatures @nats-io/nkeys verifies', (t) => {
    const account = generateNkey('account');
    const sk = createAccount();
    const signer = createSigner(td.decode(sk.getSeed()));
    const users = Array.from({ length: 1000 }, () => generateNkey('user'));
    const t0 = performance.now();
    const jwts = users.map((u, i) =>
      issueUserJwt({
        account: account.publicKey,
        signingKey: signer,
        userPublicKey: u.publicKey,
        name: `corp:svc-${i}`,
        expiresAtMs: Date.now() + 60_000,
        pub: [`ids.default.${i}.>`],
        sub: ['ids.default.>'],
        tags: ['pool:default', `node:${i}`],
      }),
    );
    const ms = performance.now() - t0;
    // Not an assertion on speed (shared cores); printed for whoever wonders.
    t.diagnostic(`issued 1000 user JWTs in ${ms.toFixed(0)} ms`);
    // tweetnacl needs ~30 ms per verification: every 20th JWT, through @nats-io/jwt's own decoder.
    const issuer = fromPublic(sk.getPublicKey());
    for (const [i, jwt] of jwts.entries()) {
      if (i % 20 !== 0) continue;
      const [h, b, sig] = jwt.split('.') as [string, string, string];
      assert.equal(issuer.verify(te.encode(`${h}.${b}`), Buffer.from(sig, 'base64url')), true);
      assert.equal(decodeJwt(jwt).sub, users[i]?.publicKey);
    }
  });
});
