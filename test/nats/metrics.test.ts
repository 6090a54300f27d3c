// The NATS metrics an operator alerts on: the signing keys' ages against the rotation period,
// read from a real authority (and nats-server) at scrape time, by the authority's own clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/clock.js';
import { NatsUnavailable } from '../../src/nats/authority.js';
import { NatsMetrics } from '../../src/nats/metrics.js';
import { GrantGate } from '../../src/nats/revocation-budget.js';
import { signingKeyAges } from '../../src/nats/signing-keys.js';
import type { NatsState } from '../../src/nats/state.js';
import { authoritiesOnServer, waitFor } from './harness.js';

/** The samples of one metric, as `label values → value` (`''` for an unlabelled one). */
async function samples(reg: Registry, name: string): Promise<Record<string, number>> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  assert.ok(m, `${name} is not registered`);
  return Object.fromEntries(m.values.map((v) => [Object.values(v.labels).join(','), v.value]));
}

describe('signing-key ages', () => {
  const state = (keys: NatsState['signingKeys']): NatsState => ({
    account: 'A',
    signingKeys: keys,
    revocations: new Map(),
    accountIat: 0,
  });
  const key = { seed: 'S', createdAt: 1_000 };

  it('counts the active key from its activation (or creation), the pending one from its creation', () => {
    assert.deepEqual(signingKeyAges(state([{ ...key, publicKey: 'A1', state: 'active' }]), 61_000), {
      activeMs: 60_000,
    });
    assert.deepEqual(
      signingKeyAges(
        state([
          { ...key, publicKey: 'A0', state: 'retiring', retireAt: 90_000 },
          { ...key, publicKey: 'A1', state: 'active', activatedAt: 31_000 },
          { ...key, publicKey: 'A2', state: 'pending', createdAt: 51_000 },
        ]),
        61_000,
      ),
      { activeMs: 30_000, pendingMs: 10_000 },
    );
  });

  const { server, authority } = authoritiesOnServer();

  it('snowgate_nats_signing_key_age_seconds follows a rotation that waits for the servers', async () => {
    const clock = new ManualClock(Date.now());
    const a = await authority({ clock, signingKeyRotationMs: 7_200_000, pushTimeoutMs: 500, retryDelayMs: 200 });
    const reg = new Registry();
    new NatsMetrics(
      reg,
      a,
      new GrantGate({ room: () => a.revocations.room(), now: () => clock.now(), fullRetryMs: 1 }),
    );
    const ages = () => samples(reg, 'snowgate_nats_signing_key_age_seconds');

    assert.deepEqual(await samples(reg, 'snowgate_nats_signing_key_rotation_seconds'), { '': 7200 });
    assert.deepEqual(await ages(), { active: 0 });
    clock.advance(5_400_000);
    assert.deepEqual(await ages(), { active: 5400 });

    // With the servers down a rotation stays pending: the old key signs on and keeps ageing.
    await server().stop();
    await assert.rejects(a.rotate(), NatsUnavailable);
    clock.advance(60_000);
    assert.deepEqual(await ages(), { active: 5460, pending: 60 });

    await server().restart();
    await a.tick();
    await waitFor('the new key to be promoted', () => a.keys().keys.some((k) => k.state === 'retiring'));
    clock.advance(1_000);
    assert.deepEqual(await ages(), { active: 1 }, 'the promoted key counts from its promotion; no pending series');
    await a.synced();
  });
});
