// User and account JWTs: the claims CONTRACT §5 asks for, in @nats-io/jwt's exact bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encodeAccount, encodeUser, fmtCreds, parseCreds, type Account, type User } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import { APP_ACCOUNT_LIMITS, buildAccountJwt, pruneRevocations } from '../../src/nats/account.js';
import { readClaims } from '../../src/nats/jwt-encode.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { createSigner } from '../../src/nats/signer.js';
import { formatCreds, issueUserJwt, newUserCreds } from '../../src/nats/user-jwt.js';

const te = new TextEncoder();
const account = generateNkey('account');
const signingKey = generateNkey('account');
const user = generateNkey('user');

function userOpts(over: Partial<Parameters<typeof issueUserJwt>[0]> = {}): Parameters<typeof issueUserJwt>[0] {
  return {
    account: account.publicKey,
    signingKey: signingKey.seed,
    userPublicKey: user.publicKey,
    name: 'corp:svc-a',
    expiresAtMs: Date.now() + 60_000,
    pub: ['ids.default.17.>'],
    sub: ['ids.default.>', '_INBOX.>'],
    tags: ['pool:default', 'node:17'],
    ...over,
  };
}

/** Runs fn until the second does not turn during it (the library stamps iat itself). */
async function sameSecond<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const before = Math.floor(Date.now() / 1000);
    const v = await fn();
    if (Math.floor(Date.now() / 1000) === before) return v;
  }
}

describe('user JWT', () => {
  it('carries the lease: sub, name, exp rounded down, issuer_account, permissions, tags', () => {
    const now = Date.parse('2030-01-01T00:00:00.000Z');
    const jwt = issueUserJwt(userOpts({ nowMs: now, expiresAtMs: now + 60_999 }));
    const c = decode<User>(jwt); // verifies the signature
    assert.equal(c.sub, user.publicKey);
    assert.equal(c.iss, signingKey.publicKey);
    assert.equal(c.name, 'corp:svc-a');
    assert.equal(c.iat, now / 1000);
    assert.equal(c.exp, now / 1000 + 60, 'exp is never later than the lease');
    assert.equal(c.nats.issuer_account, account.publicKey);
    assert.equal(c.nats.type, 'user');
    assert.deepEqual(c.nats.pub, { allow: ['ids.default.17.>'] });
    assert.deepEqual(c.nats.sub, { allow: ['ids.default.>', '_INBOX.>'] });
    assert.deepEqual(c.nats.tags, ['pool:default', 'node:17']);
  });

  it('is byte-identical to @nats-io/jwt encodeUser with the same signer', async () => {
    const expiresAtMs = Date.now() + 60_000;
    const [ours, theirs] = await sameSecond(async () => [
      issueUserJwt(userOpts({ expiresAtMs })),
      await encodeUser(
        'corp:svc-a',
        user.publicKey,
        account.publicKey,
        {
          pub: { allow: ['ids.default.17.>'] },
          sub: { allow: ['ids.default.>', '_INBOX.>'] },
          tags: ['pool:default', 'node:17'],
        },
        { exp: Math.floor(expiresAtMs / 1000), signer: fromSeed(te.encode(signingKey.seed)) },
      ),
    ]);
    assert.equal(ours, theirs);
  });

  it('denies everything when a permission list is empty (NATS reads allow: [] as "anything")', () => {
    const c = readClaims<User>(issueUserJwt(userOpts({ pub: [], sub: [] })));
    assert.deepEqual(c.nats.pub, { deny: ['>'] });
    assert.deepEqual(c.nats.sub, { deny: ['>'] });
  });

  it('refuses the account identity key, a non-account signer, bad keys and a dead-on-issue exp', () => {
    assert.throws(() => issueUserJwt(userOpts({ signingKey: account.seed })), /signing key/);
    assert.throws(() => issueUserJwt(userOpts({ signingKey: generateNkey('operator').seed })), /account signing key/);
    assert.throws(() => issueUserJwt(userOpts({ userPublicKey: account.publicKey })), /user/);
    assert.throws(() => issueUserJwt(userOpts({ account: user.publicKey })), /account/);
    const now = Date.now();
    assert.throws(() => issueUserJwt(userOpts({ nowMs: now, expiresAtMs: now - 1 })), RangeError);
  });

  it('encodes non-ASCII names as UTF-8', () => {
    const jwt = issueUserJwt(userOpts({ name: 'corp:équipe-✓' }));
    decode(jwt); // the signature verifies (the library then misreads the UTF-8 with atob; Go does not)
    assert.equal(readClaims(jwt).name, 'corp:équipe-✓');
    assert.equal(JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')).name, 'corp:équipe-✓');
  });

  it('formats creds as fmtCreds does, and parseCreds reads them back', async () => {
    const u = newUserCreds();
    assert.equal(fromSeed(te.encode(u.seed)).getPublicKey(), u.publicKey);
    const jwt = issueUserJwt(userOpts({ userPublicKey: u.publicKey }));
    const creds = formatCreds(jwt, u.seed);
    assert.equal(creds, new TextDecoder().decode(fmtCreds(jwt, fromSeed(te.encode(u.seed)))));
    const parsed = await parseCreds(te.encode(creds));
    assert.equal(parsed.jwt, jwt);
    assert.equal(parsed.key, u.seed);
    assert.equal(parsed.aid, account.publicKey);
  });
});

describe('account JWT', () => {
  const operator = generateNkey('operator');
  const op = createSigner(operator.seed);

  it('lists signing keys, revocations and explicit limits, signed by the operator', () => {
    const jwt = buildAccountJwt({
      operator: op,
      accountPublicKey: account.publicKey,
      name: 'snowgate',
      signingKeys: [signingKey.publicKey],
      revocations: new Map([[user.publicKey, 1700000000]]),
      iatSeconds: 1700000001,
    });
    const c = decode<Account>(jwt);
    assert.equal(c.iss, operator.publicKey);
    assert.equal(c.sub, account.publicKey);
    assert.equal(c.iat, 1700000001);
    assert.deepEqual(c.nats.signing_keys, [signingKey.publicKey]);
    assert.deepEqual(c.nats.revocations, { [user.publicKey]: 1700000000 });
    assert.equal(c.nats.limits?.conn, -1);
    assert.equal(c.nats.limits?.disk_storage, -1);
    assert.equal(c.exp, undefined);
  });

  it('is byte-identical to @nats-io/jwt encodeAccount', async () => {
    const [ours, theirs] = await sameSecond(async () => [
      buildAccountJwt({
        operator: op,
        accountPublicKey: account.publicKey,
        name: 'snowgate',
        signingKeys: [signingKey.publicKey],
        revocations: new Map([[user.publicKey, 1]]),
        iatSeconds: Math.floor(Date.now() / 1000),
      }),
      await encodeAccount(
        'snowgate',
        account.publicKey,
        { limits: APP_ACCOUNT_LIMITS, signing_keys: [signingKey.publicKey], revocations: { [user.publicKey]: 1 } },
        { signer: op },
      ),
    ]);
    assert.equal(ours, theirs);
  });

  it('prunes revocations once every JWT they cover has expired', () => {
    const horizonMs = 60_000;
    const now = 1_700_000_100_000;
    const revocations = new Map([
      ['fresh', 1_700_000_099],
      ['old', 1_700_000_038],
      ['edge', 1_700_000_039],
    ]);
    pruneRevocations(revocations, now, horizonMs);
    // "old" covers JWTs issued before 1_700_000_039 s, so expired by 1_700_000_099 s, dropped by 100 s.
    assert.deepEqual([...revocations.keys()], ['fresh', 'edge'], 'the rest in their order');
  });
});
