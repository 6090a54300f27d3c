// The account JWT built on a worker thread: the same bytes as the inline build, and inline when the thread cannot.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Account } from '@nats-io/jwt';
import { AccountJwtBuilder } from '../../src/nats/account-jwt-builder.js';
import { buildAccountJwt } from '../../src/nats/account.js';
import { readClaims } from '../../src/nats/jwt-encode.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { createSigner } from '../../src/nats/signer.js';
import { serializeState, type NatsState } from '../../src/nats/state.js';

const operator = generateNkey('operator');
const account = generateNkey('account');
const signingKeys = [generateNkey('account'), generateNkey('account')];

function stateWith(revocations: number): NatsState {
  const s: NatsState = {
    account: account.publicKey,
    signingKeys: signingKeys.map((k, i) => ({
      publicKey: k.publicKey,
      seed: k.seed,
      state: i === 0 ? 'active' : 'pending',
      createdAt: 1_700_000_000_000,
    })),
    revocations: new Map(),
    accountIat: 1_700_000_123,
  };
  // Seconds out of order: the JWT keeps the state's order, as every replica reads it back.
  for (let i = 0; i < revocations; i++)
    s.revocations.set(generateNkey('user').publicKey, 1_700_000_000 + ((i * 7) % 600));
  return s;
}

function expected(s: NatsState): string {
  return buildAccountJwt({
    operator: createSigner(operator.seed),
    accountPublicKey: account.publicKey,
    name: 'APP',
    signingKeys: s.signingKeys.map((k) => k.publicKey),
    revocations: s.revocations,
    iatSeconds: s.accountIat,
  });
}

function builder(threadFrom: number): AccountJwtBuilder {
  return new AccountJwtBuilder({
    operatorSeed: operator.seed,
    accountPublicKey: account.publicKey,
    name: 'APP',
    threadFrom,
  });
}

/** Runs `fn` with a builder, closed afterwards (its thread with it). */
async function withBuilder(threadFrom: number, fn: (b: AccountJwtBuilder) => Promise<void>): Promise<void> {
  const b = builder(threadFrom);
  try {
    await fn(b);
  } finally {
    await b.close();
  }
}

describe('AccountJwtBuilder', () => {
  it('builds on the thread the bytes the inline build gives, for several versions at once', () =>
    withBuilder(0, async (b) => {
      const states = [stateWith(5000), stateWith(0), stateWith(3)];
      const jwts = await Promise.all(states.map((s) => b.build(s, serializeState(s))));
      for (const [i, s] of states.entries()) assert.equal(jwts[i], expected(s));
      const claims = readClaims<Account>(jwts[0]!);
      assert.equal(Object.keys(claims.nats.revocations ?? {}).length, 5000);
      assert.deepEqual(Object.keys(claims.nats.revocations ?? {}), [...states[0]!.revocations.keys()]);
    }));

  it('builds small states inline, and large ones on the thread, alike', () =>
    withBuilder(64 * 1024, async (b) => {
      for (const s of [stateWith(10), stateWith(2000)]) assert.equal(await b.build(s, serializeState(s)), expected(s));
    }));

  it('builds inline what the thread could not build', () =>
    withBuilder(0, async (b) => {
      const s = stateWith(100);
      // The thread reads the stored form; one it cannot parse fails there, and the state is built here.
      assert.equal(await b.build(s, '{"not json'), expected(s));
      assert.equal(await b.build(s, serializeState(s)), expected(s));
    }));

  it('builds each version once, and reports the size of the last one built', () =>
    withBuilder(0, async (b) => {
      const s = stateWith(20);
      const first = b.forVersion(7, s, serializeState(s));
      assert.equal(b.forVersion(7, s, serializeState(s)), first, 'one build for one version');
      assert.equal(await first, expected(s));
      assert.equal(b.lastBytes, (await first).length);
      const next = stateWith(40);
      assert.equal(await b.forVersion(8, next, serializeState(next)), expected(next));
      assert.equal(b.lastBytes, expected(next).length);
    }));

  it('builds inline once closed', async () => {
    const b = builder(0);
    await b.close();
    const s = stateWith(50);
    assert.equal(await b.build(s, serializeState(s)), expected(s));
  });
});
