import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuerConfig } from '../../src/config/types.js';
import { InvalidToken } from '../../src/errors.js';
import { instanceFrom, parseSubjectTemplate, renderSubject } from '../../src/identity/subject.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';

describe('subject templates', () => {
  it('renders claims, pointers and numbers into a subject', () => {
    const t = parseSubjectTemplate('{sub}@{tid}');
    assert.equal(renderSubject(t, { sub: 'svc-a', tid: 'contoso' }), 'svc-a@contoso');
    const nested = parseSubjectTemplate('{/kubernetes.io/namespace}/{run}');
    assert.equal(renderSubject(nested, { 'kubernetes.io': { namespace: 'payments' }, run: 42 }), 'payments/42');
  });

  it('gives no subject when a claim is missing, empty, not text, or would make it ambiguous', () => {
    const t = parseSubjectTemplate('{sub}@{tid}');
    for (const claims of [
      { sub: 'a' },
      { sub: '', tid: 'b' },
      { sub: ['a'], tid: 'b' },
      { sub: { x: 1 }, tid: 'b' },
      { sub: true, tid: 'b' },
      // "a@b" + "c" and "a" + "b@c" would both read a@b@c.
      { sub: 'a@b', tid: 'c' },
      { sub: 'a', tid: 'b@c' },
    ]) {
      assert.equal(renderSubject(t, claims), undefined, JSON.stringify(claims));
    }
  });
});

describe('instances from claims', () => {
  it('takes a valid instance as it is, and any other text as a digest of itself', () => {
    assert.equal(instanceFrom('ledger-7d9f8b6c5d-x2v9q'), 'ledger-7d9f8b6c5d-x2v9q');
    const long = 'p'.repeat(200);
    assert.match(instanceFrom(long)!, /^sha256:[0-9a-f]{40}$/);
    assert.equal(instanceFrom(long), instanceFrom(long));
    assert.notEqual(instanceFrom('alice@example.com'), instanceFrom('alice@example.org'));
    assert.equal(instanceFrom(''), undefined);
    assert.equal(instanceFrom(7), undefined);
  });
});

describe('TokenVerifier: subject templates and instances', () => {
  let idp: TestIssuer;
  let verifier: TokenVerifier;
  before(async () => {
    idp = await startTestIssuer();
    const config: IssuerConfig = {
      name: 'entra',
      issuer: idp.issuer,
      audience: ['snowgate'],
      algorithms: ['RS256'],
      jwksUri: idp.jwksUri,
      subjectClaim: 'sub',
      subjectTemplate: '{sub}@{tid}',
      instanceClaim: 'host',
      claims: {},
      dynamic: true,
    };
    verifier = new TokenVerifier([config], { clockToleranceMs: 0 });
  });
  after(() => idp.close());

  it('keys the principal by the template and takes the instance from its claim', async () => {
    const v = await verifier.verify(await idp.mint({ sub: 'svc', claims: { tid: 't1', host: 'web-1' } }));
    assert.equal(v.subject, 'svc@t1');
    assert.equal(v.instance, 'web-1');
    const noHost = await verifier.verify(await idp.mint({ sub: 'svc', claims: { tid: 't1' } }));
    assert.equal(noHost.instance, undefined);
  });

  it('refuses a token the template cannot key', async () => {
    for (const claims of [{}, { tid: 'a@b' }]) {
      await assert.rejects(verifier.verify(await idp.mint({ sub: 'svc', claims })), (e: unknown) => {
        assert.ok(e instanceof InvalidToken);
        assert.equal(e.reason, 'bad_subject');
        return true;
      });
    }
  });
});
