// The auth callout's rules (CONTRACT §8), without a server: who is a reader, who a publisher,
// how long each JWT lives, and every refusal's reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuerConfig } from '../../src/config/types.js';
import { CalloutRefusal, decideCallout, parseConnectToken, type DecideInput } from '../../src/nats/callout-decision.js';
import type { Lease } from '../../src/registry/types.js';

const NOW = 1_700_000_000_000;
const issuer = { name: 'ci', pools: undefined } as unknown as IssuerConfig;
const principal = { issuer: 'ci', subject: 'svc a' };
const lease: Lease = {
  id: 'L1',
  pool: 'default',
  node: 7,
  generation: 1,
  principal,
  instance: 'pod-1',
  issuedAt: NOW - 1000,
  expiresAt: NOW + 60_000,
  notBefore: NOW - 2000,
};
const base = (over: Partial<DecideInput> = {}): DecideInput => ({
  identity: { principal, issuer, tokenExpiresAtMs: NOW + 300_000 },
  nowMs: NOW,
  readerTtlMs: 120_000,
  pools: ['default', 'other'],
  permissions: {
    publish: ['ids.{pool}.{node}.>'],
    subscribe: ['ids.{pool}.>', 'inst.{instance}.>', 'node.{pool}.{node}', 'who.{subject}', '_INBOX.>'],
  },
  ...over,
});
const refusal = (reason: string) => (e: unknown) => e instanceof CalloutRefusal && e.reason === reason;

describe('parseConnectToken', () => {
  it('takes a bearer token or JSON {token, lease}, and refuses anything else', () => {
    assert.deepEqual(parseConnectToken('eyJ.a.b'), { token: 'eyJ.a.b' });
    assert.deepEqual(parseConnectToken('{"token":"t","lease":"L"}'), { token: 't', lease: 'L' });
    assert.deepEqual(parseConnectToken('{"token":"t"}'), { token: 't' });
    assert.throws(() => parseConnectToken(undefined), refusal('no_token'));
    assert.throws(() => parseConnectToken(''), refusal('no_token'));
    assert.throws(() => parseConnectToken('{nope'), refusal('malformed'));
    assert.throws(() => parseConnectToken('{"token":5}'), refusal('malformed'));
    assert.throws(() => parseConnectToken('{"token":"t","lease":""}'), refusal('malformed'));
    assert.throws(() => parseConnectToken('x'.repeat(30_000)), refusal('malformed'));
  });
});

describe('decideCallout', () => {
  it('a reader subscribes in every pool its issuer may lease in, without node or instance templates, and publishes nothing', () => {
    const g = decideCallout(base());
    assert.equal(g.kind, 'reader');
    assert.deepEqual(g.pub, []);
    assert.deepEqual(g.sub, ['ids.default.>', 'who.svc_20a', '_INBOX.>', 'ids.other.>']);
    assert.equal(g.expiresAtMs, NOW + 120_000, 'readerTtl caps it');
    const narrow = decideCallout(base({ identity: { principal, issuer: { ...issuer, pools: ['other'] } } }));
    assert.deepEqual(narrow.sub, ['ids.other.>', 'who.svc_20a', '_INBOX.>']);
    assert.equal(narrow.expiresAtMs, NOW + 120_000, 'a token without exp: readerTtl');
    const short = decideCallout(base({ identity: { principal, issuer, tokenExpiresAtMs: NOW + 5000 } }));
    assert.equal(short.expiresAtMs, NOW + 5000, "never past the token's exp");
  });

  it("a publisher gets its lease's permissions and tags, ending with the lease, never after the token", () => {
    const g = decideCallout(base({ lease, leaseId: 'L1' }));
    assert.equal(g.kind, 'publisher');
    assert.equal(g.leaseId, 'L1');
    assert.deepEqual(g.pub, ['ids.default.7.>']);
    assert.deepEqual(g.sub, ['ids.default.>', 'inst.pod-1.>', 'node.default.7', 'who.svc_20a', '_INBOX.>']);
    assert.deepEqual(g.tags, ['pool:default', 'node:7']);
    assert.equal(g.expiresAtMs, lease.expiresAt);
    const t = decideCallout(
      base({ lease, leaseId: 'L1', identity: { principal, issuer, tokenExpiresAtMs: NOW + 9000 } }),
    );
    assert.equal(t.expiresAtMs, NOW + 9000);
  });

  it('refuses unknown, foreign, ended and expired leases, and a token about to expire', () => {
    assert.throws(() => decideCallout(base({ leaseId: 'L1' })), refusal('lease_not_found'));
    assert.throws(() => decideCallout(base({ lease, leaseId: 'L2' })), refusal('lease_not_found'));
    const foreign = { ...lease, principal: { issuer: 'ci', subject: 'svc b' } };
    assert.throws(() => decideCallout(base({ lease: foreign, leaseId: 'L1' })), refusal('lease_not_yours'));
    const ended = { ...lease, endedAt: NOW - 1, endReason: 'released' as const };
    assert.throws(() => decideCallout(base({ lease: ended, leaseId: 'L1' })), refusal('lease_ended'));
    const expired = { ...lease, expiresAt: NOW };
    assert.throws(() => decideCallout(base({ lease: expired, leaseId: 'L1' })), refusal('lease_ended'));
    const dying = { principal, issuer, tokenExpiresAtMs: NOW + 500 };
    assert.throws(() => decideCallout(base({ identity: dying })), refusal('expired'));
  });
});
