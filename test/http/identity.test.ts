import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newRsa } from '../identity/test-issuer.js';
import { bearer, startTestApp, type TestApp } from './harness.js';

const podToken = (t: TestApp, pod: string) =>
  t.token('system:serviceaccount:payments:ledger', { 'kubernetes.io': { namespace: 'payments', pod: { name: pod } } });

describe('leases keyed by what the token says', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ issuer: { instanceClaim: '/kubernetes.io/pod/name', maxPrincipals: 2 } });
  });
  after(() => t.close());

  const acquire = async (token: string, payload: object = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/leases', headers: bearer(token), payload });
  const renew = async (token: string, id: string) =>
    t.app.inject({ method: 'POST', url: `/v1/leases/${id}/renew`, headers: bearer(token) });

  it('takes the instance from the pod name: a restarted pod supersedes its lease, a new replica gets its own', async () => {
    const first = await acquire(await podToken(t, 'ledger-0'));
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json().lease.instance, 'ledger-0');
    const restarted = await acquire(await podToken(t, 'ledger-0'));
    assert.equal(restarted.statusCode, 201);
    assert.equal((await renew(await podToken(t, 'ledger-0'), first.json().lease.id)).statusCode, 410, 'superseded');
    const replica = await acquire(await podToken(t, 'ledger-1'));
    assert.equal(replica.json().lease.instance, 'ledger-1');
    assert.equal((await renew(await podToken(t, 'ledger-0'), restarted.json().lease.id)).statusCode, 200);
    const named = await acquire(await podToken(t, 'ledger-1'), { instance: 'sidecar' });
    assert.equal(named.json().lease.instance, 'sidecar', 'the request names the instance when it gives one');
  });

  it('caps the distinct principals of an issuer holding leases in a pool at its maxPrincipals', async () => {
    assert.equal((await acquire(await t.token('svc-b'))).statusCode, 201, 'the second principal');
    const third = await acquire(await t.token('svc-c'));
    assert.equal(third.statusCode, 409, third.body);
    assert.equal(third.json().code, 'principal_limit');
    assert.match(third.json().detail, /maxPrincipals/);
    assert.equal((await acquire(await t.token('svc-b'))).statusCode, 201, 'a holder may still lease more');
  });
});

describe('refused tokens, counted per issuer', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ issuer: { claims: { env: 'prod' } } });
  });
  after(() => t.close());

  it('counts by configured issuer and reason, and tokens of no configured issuer as none', async () => {
    const rogue = await newRsa();
    for (const token of [
      await t.idp.mint({ key: rogue.privateKey, claims: { env: 'prod' } }),
      await t.token('svc', { env: 'dev' }),
      'garbage',
      await t.idp.mint({ iss: 'https://elsewhere.example.com' }),
    ]) {
      const r = await t.app.inject({ method: 'POST', url: '/v1/leases', headers: bearer(token), payload: {} });
      assert.ok(r.statusCode === 401 || r.statusCode === 403, r.body);
    }
    const text = await t.metrics.registry.metrics();
    for (const series of [
      'snowgate_token_rejections_total{issuer="corp",reason="bad_signature"} 1',
      'snowgate_token_rejections_total{issuer="corp",reason="bound_claims"} 1',
      'snowgate_token_rejections_total{issuer="none",reason="malformed"} 1',
      'snowgate_token_rejections_total{issuer="none",reason="unknown_issuer"} 1',
      'snowgate_lease_operations_total{op="acquire",outcome="invalid_token"} 3',
      'snowgate_lease_operations_total{op="acquire",outcome="forbidden"} 1',
    ]) {
      assert.ok(
        text.includes(series),
        `${series}\n${text
          .split('\n')
          .filter((l) => l.includes('total{'))
          .join('\n')}`,
      );
    }
  });
});
