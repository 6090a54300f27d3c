// Revocations within a budget and at a cost that does not grow with their number (issue 7 finding 2,
// issue 8): the capacity arithmetic against real JWT sizes, admission, coalescing, pruning horizons.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevocationsFull } from '../../src/errors.js';
import { buildAccountJwt } from '../../src/nats/account.js';
import { readClaims } from '../../src/nats/jwt-encode.js';
import { generateNkey } from '../../src/nats/nkey.js';
import {
  BUDGET_SHARE,
  GrantGate,
  revocationCapacity,
  RevocationExpiries,
  type RevocationRoom,
} from '../../src/nats/revocation-budget.js';
import { RevocationQueue } from '../../src/nats/revocation-queue.js';
import { createSigner } from '../../src/nats/signer.js';
import { MemoryNatsStateStore, parseState } from '../../src/nats/state.js';
import { systemClock } from '../../src/clock.js';
import { authoritiesOnServer } from './harness.js';

/** Counts saves: what coalescing saves. */
class CountingStore extends MemoryNatsStateStore {
  saves = 0;
  override save(expectedVersion: number, data: string): Promise<boolean> {
    this.saves++;
    return super.save(expectedVersion, data);
  }
}

describe('revocation capacity', () => {
  it('fits the account JWT with that many revocations, and two more signing keys, in its share of max_payload', () => {
    const operator = createSigner(generateNkey('operator').seed);
    const account = generateNkey('account').publicKey;
    const keys = [generateNkey('account').publicKey];
    const jwt = (n: number, extraKeys = 0) =>
      buildAccountJwt({
        operator,
        accountPublicKey: account,
        name: 'snowgate',
        signingKeys: [...keys, ...Array.from({ length: extraKeys }, () => generateNkey('account').publicKey)],
        revocations: new Map(Array.from({ length: n }, () => [generateNkey('user').publicKey, 1_900_000_000])),
        iatSeconds: 1_800_000_000,
      });
    for (const maxPayload of [64 * 1024, 1024 * 1024]) {
      const capacity = revocationCapacity(maxPayload, jwt(0).length);
      const full = jwt(capacity, 2).length;
      assert.ok(full <= maxPayload * BUDGET_SHARE, `${capacity} revocations: ${full} bytes`);
      // Not wasteful: one revocation more than the share would take is over it.
      assert.ok(jwt(capacity + 3).length > maxPayload * BUDGET_SHARE - 200, `${full} bytes leave room unused`);
    }
    assert.ok(revocationCapacity(64 * 1024, jwt(0).length) > 600);
  });
});

describe('GrantGate', () => {
  const gate = (room: RevocationRoom, now = 1_000_000) =>
    new GrantGate({ room: () => room, now: () => now, fullRetryMs: 12_000 });

  it('admits while revocations, active leases and grants in flight fit, then 503 with Retry-After', () => {
    const room = { used: 5, capacity: 10, freesAtMs: 1_002_500 };
    const g = gate(room);
    g.setActive(3);
    const a = g.admit(); // 5 + 3 + 0 + 1
    const b = g.admit(); // 5 + 3 + 1 + 1
    const err = (() => {
      try {
        g.admit();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof RevocationsFull, String(err));
    assert.equal(err.status, 503);
    assert.equal(err.code, 'revocations_full');
    assert.equal(err.retryAfterSeconds, 3, 'until the oldest revocation ages out, rounded up');
    a.abandoned();
    b.granted();
    b.abandoned(); // once settled, a slot stays settled
    assert.deepEqual(g.status(), { active: 4, inFlight: 0 });
    g.admit().granted();
    assert.throws(() => g.admit(), RevocationsFull);
    g.ended(2); // two leases ended here: their revocations are in `used` from now on
    assert.deepEqual(g.status(), { active: 3, inFlight: 0 });
  });

  it('waits a whole revocation life when none is due to age out', () => {
    const g = gate({ used: 0, capacity: 1 });
    g.setActive(1);
    assert.throws(
      () => g.admit(),
      (e: unknown) => e instanceof RevocationsFull && e.retryAfterSeconds === 12,
    );
  });
});

describe('RevocationExpiries', () => {
  it('counts the revocations still needed, and when the next one goes', () => {
    const x = new RevocationExpiries();
    x.reset(
      new Map([
        ['a', 100],
        ['b', 103],
        ['c', 101],
        ['d', 103],
      ]),
      (r) => r * 1000 + 500,
    );
    assert.equal(x.live(0), 4);
    assert.equal(x.next(0), 100_500);
    assert.equal(x.live(100_500), 3, 'gone at its expiry');
    assert.equal(x.live(102_000), 2);
    assert.equal(x.next(102_000), 103_500);
    assert.equal(x.live(103_500), 0);
    assert.equal(x.next(103_500), undefined);
  });
});

describe('RevocationQueue', () => {
  it('saves the revocations of one window in one update, and none is lost when a save fails', async () => {
    const saved: string[][] = [];
    let fail = 1;
    const q = new RevocationQueue({
      clock: systemClock,
      minGapMs: 1,
      retryMs: 10,
      flush: (batch) => {
        if (fail-- > 0) return Promise.reject(new Error('store down'));
        saved.push([...batch.keys()]);
        return Promise.resolve(saved.length);
      },
    });
    const first = q.add(['u1']);
    await assert.rejects(first, /store down/);
    assert.equal(q.size, 1, 'still queued after the failed save');
    const adds = Array.from({ length: 50 }, (_, i) => q.add([`k${i}`]));
    assert.equal(q.has('k7'), true);
    const versions = await Promise.all(adds);
    assert.equal(saved.length, 1, `${saved.length} updates for one window`);
    assert.equal(saved[0]?.length, 51);
    assert.ok(saved[0]?.includes('u1'));
    assert.deepEqual(new Set(versions), new Set([1]));
    assert.equal(q.size, 0);
    q.close();
    await assert.rejects(q.add(['late']), /closed/);
  });
});

describe('NatsAuthority revocations', () => {
  const { authority } = authoritiesOnServer({ maxJwtTtlMs: 120_000 });

  it('coalesces many ends into a few updates, and confirms each', async () => {
    const store = new CountingStore();
    const a = await authority({ store });
    const before = store.saves;
    const users = Array.from({ length: 200 }, () => generateNkey('user').publicKey);
    const statuses = await Promise.all(users.map((u) => a.revoke([u], { waitMs: 2000 })));
    assert.ok(store.saves - before <= 3, `${store.saves - before} saves for 200 revocations`);
    assert.deepEqual(new Set(statuses), new Set(['revoked']));
    assert.equal(a.revocations.status(users), 'revoked');
    assert.equal(a.revocations.status([generateNkey('user').publicKey]), undefined, 'never revoked');
    assert.equal(a.revocations.room().used, 200);
    assert.ok(a.revocations.room().capacity > 8000, 'a 1 MB max_payload, from the server');
  });

  it('caps user JWTs at nats.credentialTtl and keeps revocations only that long', async () => {
    const store = new MemoryNatsStateStore();
    const a = await authority({ store, credentialTtlMs: 10_000 });
    const now = Date.now();
    const c = a.issue({
      userPublicKey: generateNkey('user').publicKey,
      name: 'dev:svc',
      expiresAtMs: now + 100_000,
      pub: [],
      sub: [],
      tags: [],
    });
    assert.ok(c.expiresAtMs <= now + 10_000 && c.expiresAtMs > now + 8_000, `${c.expiresAtMs - now} ms`);
    assert.equal(readClaims(c.jwt).exp, c.expiresAtMs / 1000);
    assert.equal(a.revocations.horizonMs(), 10_000);
    await a.close();

    // Restarted with JWTs as long as leases: revocations last that long at once.
    const b = await authority({ store });
    assert.equal(b.revocations.horizonMs(), 120_000);
    await b.close();
    // Lowered again: the longer horizon holds until the JWTs issued under it have expired.
    const c2 = await authority({ store, credentialTtlMs: 10_000 });
    assert.equal(c2.revocations.horizonMs(), 120_000);
    const saved = parseState((await store.load())?.data ?? '');
    assert.equal(saved.jwtTtl?.ms, 10_000);
    assert.ok((saved.jwtTtl?.formerUntil ?? 0) >= Date.now() + 119_000);
  });
});
