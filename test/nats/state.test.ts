// The replicated state: compare-and-set saves, conflict retries, and a strictly rising account iat.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { buildAccountJwt } from '../../src/nats/account.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { SeedSealer } from '../../src/nats/seed-seal.js';
import { createSigner } from '../../src/nats/signer.js';
import { StateKeeper } from '../../src/nats/state-keeper.js';
import {
  InvalidNatsState,
  MemoryNatsStateStore,
  parseState,
  serializeState,
  type NatsState,
} from '../../src/nats/state.js';

const account = generateNkey('account').publicKey;
const sk = generateNkey('account');
const seed = (): NatsState => ({
  account,
  signingKeys: [{ ...sk, state: 'active', createdAt: 0 }],
  revocations: new Map(),
  accountIat: 1_700_000_000,
});

describe('MemoryNatsStateStore', () => {
  it('compare-and-set: versions start at 0, each save adds one, stale saves fail', async () => {
    const s = new MemoryNatsStateStore();
    assert.equal(await s.load(), undefined);
    assert.equal(await s.version(), 0);
    assert.equal(await s.save(1, 'x'), false);
    assert.equal(await s.save(0, 'a'), true);
    assert.deepEqual(await s.load(), { version: 1, data: 'a' });
    assert.equal(await s.save(0, 'b'), false);
    assert.equal(await s.save(1, 'b'), true);
    assert.deepEqual(await s.load(), { version: 2, data: 'b' });
    assert.equal(await s.version(), 2);
  });
});

/** Two replicas' keepers on one store, both loaded. */
async function twoReplicas() {
  const store = new MemoryNatsStateStore();
  const clock = new ManualClock(1_700_000_000_000);
  const a = new StateKeeper({ store, account, clock });
  const b = new StateKeeper({ store, account, clock });
  await a.loadOrSeed(seed);
  await b.loadOrSeed(seed);
  return { store, a, b };
}

describe('StateKeeper', () => {
  it('reads the record only when another replica saved a newer one', async () => {
    const { store, a, b } = await twoReplicas();
    let loads = 0;
    const load = store.load.bind(store);
    store.load = () => (loads++, load());
    await a.mutate((s) => void s.revocations.set('UA', 1));
    await a.mutate((s) => void s.revocations.set('UB', 1));
    await a.sync();
    assert.equal(loads, 0, 'its own saves: the version alone is read');
    await b.sync();
    assert.equal(loads, 1);
    assert.deepEqual([...b.state.revocations.keys()], ['UA', 'UB']);
    await b.sync();
    assert.equal(loads, 1);
  });

  it('seeds once; a second replica adopts the seed', async () => {
    const store = new MemoryNatsStateStore();
    const clock = new ManualClock(1_700_000_000_000);
    const a = new StateKeeper({ store, account, clock });
    const b = new StateKeeper({ store, account, clock });
    await Promise.all([a.loadOrSeed(seed), b.loadOrSeed(seed)]);
    assert.equal(a.version, 1);
    assert.equal(b.version, 1);
    assert.deepEqual(a.state, b.state);
  });

  it('retries on conflict so concurrent changes of two replicas both land', async () => {
    const { store, a, b } = await twoReplicas();
    await Promise.all([
      a.mutate((s) => void s.revocations.set('UA', 1)),
      b.mutate((s) => void s.revocations.set('UB', 2)),
      a.mutate((s) => void s.revocations.set('UC', 3)),
    ]);
    const final = parseState((await store.load())?.data ?? '');
    assert.deepEqual(Object.fromEntries(final.revocations), { UA: 1, UB: 2, UC: 3 });
    assert.equal((await store.load())?.version, 4);
  });

  it('raises the account iat strictly, even within one second, and only for account changes', async () => {
    const store = new MemoryNatsStateStore();
    const clock = new ManualClock(1_700_000_000_000);
    const k = new StateKeeper({ store, account, clock });
    await k.loadOrSeed(seed);
    const iats = [k.state.accountIat];
    for (let i = 0; i < 3; i++) {
      await k.mutate((s) => void s.revocations.set(`U${i}`, 1));
      iats.push(k.state.accountIat);
    }
    assert.deepEqual(iats, [1_700_000_000, 1_700_000_001, 1_700_000_002, 1_700_000_003]);
    await k.mutate((s) => void (s.signingKeys[0]!.lastExpiresAt = 5));
    assert.equal(k.state.accountIat, 1_700_000_003, 'bookkeeping alone does not re-date the account');
    const v = k.version;
    await k.mutate(() => undefined);
    assert.equal(k.version, v, 'no change, no save');
    // What the JWT says, each way it can change: a re-stamped revocation, one pruned, a new key.
    await k.mutate((s) => void s.revocations.set('U0', 2));
    await k.mutate((s) => void s.revocations.delete('U1'));
    await k.mutate((s) => void s.signingKeys.push({ ...generateNkey('account'), state: 'pending', createdAt: 1 }));
    assert.equal(k.state.accountIat, 1_700_000_006);
  });

  it('saves nothing for no change to state another replica saved, its seeds sealed', async () => {
    const store = new MemoryNatsStateStore();
    const clock = new ManualClock(1_700_000_000_000);
    const sealer = new SeedSealer(Buffer.alloc(32, 3));
    const a = new StateKeeper({ store, account, clock, sealer });
    const b = new StateKeeper({ store, account, clock, sealer });
    await a.loadOrSeed(seed);
    await a.mutate((s) => void s.revocations.set('UA', 1));
    await b.loadOrSeed(seed);
    await b.mutate((s) => void s.revocations.set('UA', 1));
    await b.mutate(() => undefined);
    assert.equal((await store.load())?.version, 2, 'the same content re-sealed would be a save');
    await b.mutate((s) => void s.revocations.set('UB', 2));
    assert.equal((await store.load())?.version, 3);
    await a.sync();
    assert.deepEqual(Object.fromEntries(a.state.revocations), { UA: 1, UB: 2 });
  });

  it('gives every replica the same account JWT bytes for one version, revocations unsorted', async () => {
    const { a, b } = await twoReplicas();
    await a.mutate((s) => void s.revocations.set('UZ', 1).set('UA', 2).set('UM', 3));
    await b.mutate((s) => void s.revocations.set('UB', 4));
    await a.sync();
    const operator = createSigner(generateNkey('operator').seed);
    const jwt = (s: NatsState) =>
      buildAccountJwt({
        operator,
        accountPublicKey: account,
        name: 'APP',
        signingKeys: s.signingKeys.map((k) => k.publicKey),
        revocations: s.revocations,
        iatSeconds: s.accountIat,
      });
    assert.deepEqual([...a.state.revocations.keys()], ['UZ', 'UA', 'UM', 'UB'], 'in the order they were made');
    assert.equal(jwt(a.state), jwt(b.state));
  });

  it('refuses state of another account, and malformed state', async () => {
    const store = new MemoryNatsStateStore();
    await store.save(0, JSON.stringify(seed()));
    const other = new StateKeeper({ store, account: generateNkey('account').publicKey, clock: new ManualClock() });
    await assert.rejects(other.loadOrSeed(seed), /stored NATS state is for account/);
    const twoActive = { ...seed(), signingKeys: [seed().signingKeys[0], seed().signingKeys[0]] };
    assert.throws(() => parseState(JSON.stringify(twoActive)), InvalidNatsState);
    assert.throws(() => parseState('{}'), InvalidNatsState);
  });

  it('stores revocations as the object earlier versions stored, in their order, and reads them back', () => {
    const s = seed();
    const users = [generateNkey('user').publicKey, generateNkey('user').publicKey];
    s.revocations.set(users[1]!, 1_700_000_002).set(users[0]!, 1_700_000_001).set('odd "key"\\', 7);
    s.maxPayload = 1024;
    const stored = serializeState(s);
    // What JSON.stringify wrote for the object form: the same bytes, keys escaped where they must be.
    const asObject = { ...s, revocations: Object.fromEntries(s.revocations) };
    assert.equal(stored, JSON.stringify(asObject));
    const back = parseState(stored);
    assert.deepEqual([...back.revocations], [...s.revocations]);
    assert.equal(serializeState(back), stored, 'read back, it serialises as it was');
    assert.equal(serializeState(seed()), JSON.stringify({ ...seed(), revocations: {} }));
    const bad = { ...asObject, revocations: { [users[0]!]: '1700000001' } };
    assert.throws(() => parseState(JSON.stringify(bad)), /not a number/);
    assert.throws(() => parseState(JSON.stringify({ ...asObject, revocations: [] })), InvalidNatsState);
  });

  it('accepts one pending key beside the active one, not two, nor an unknown state', () => {
    const pending = (): NatsState['signingKeys'][number] => ({
      ...generateNkey('account'),
      state: 'pending',
      createdAt: 1,
    });
    const withPending = { ...seed(), signingKeys: [...seed().signingKeys, pending()] };
    assert.equal(parseState(JSON.stringify(withPending)).signingKeys[1]?.state, 'pending');
    const twoPending = { ...seed(), signingKeys: [...seed().signingKeys, pending(), pending()] };
    assert.throws(() => parseState(JSON.stringify(twoPending)), /at most one/);
    const odd = { ...seed(), signingKeys: [...seed().signingKeys, { ...pending(), state: 'next' }] };
    assert.throws(() => parseState(JSON.stringify(odd)), /unknown state/);
    const onlyPending = { ...seed(), signingKeys: [pending()] };
    assert.throws(() => parseState(JSON.stringify(onlyPending)), /exactly one/);
  });
});
