import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundClaimsMismatch, globMatch, type BoundClaims } from '../../src/identity/claims.js';
import { claimAt } from '../../src/identity/pointer.js';

describe('globMatch', () => {
  const table: Array<[pattern: string, text: string, expected: boolean]> = [
    ['prod', 'prod', true],
    ['prod', 'production', false],
    ['prod', 'Prod', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['prod-*', 'prod-', true],
    ['prod-*', 'prod-eu-1', true],
    ['prod-*', 'dev-prod-eu', false],
    ['*-prod', 'eu-prod', true],
    ['repo:acme/*:ref:refs/heads/main', 'repo:acme/api:ref:refs/heads/main', true],
    ['repo:acme/*:ref:refs/heads/main', 'repo:acme/api:ref:refs/heads/evil', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['**', 'x', true],
    ['', '', true],
    ['', 'x', false],
    // Regex metacharacters are literal: only * is special.
    ['a.c', 'abc', false],
    ['a.c', 'a.c', true],
    ['a?c', 'abc', false],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['(x|y)+', 'x', false],
    ['^$', '^$', true],
    ['a\\*', 'a\\bc', true],
    ['*\n*', 'line1\nline2', true],
  ];
  for (const [pattern, text, expected] of table) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(text)}`, () => {
      assert.equal(globMatch(pattern, text), expected);
    });
  }

  it('stays linear on many stars against a long claim', () => {
    const started = performance.now();
    assert.equal(globMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(16 * 1024)), false);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('claimAt', () => {
  const claims = {
    sub: 'system:serviceaccount:prod:api',
    'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'api' }, pods: [{ name: 'p0' }] },
    'a/b': 1,
    'm~n': 2,
    '': 'empty key',
  };
  const table: Array<[key: string, expected: unknown]> = [
    ['sub', claims.sub],
    ['kubernetes.io', claims['kubernetes.io']],
    ['/kubernetes.io/namespace', 'prod'],
    ['/kubernetes.io/serviceaccount/name', 'api'],
    ['/kubernetes.io/pods/0/name', 'p0'],
    ['/kubernetes.io/pods/1/name', undefined],
    ['/kubernetes.io/pods/01/name', undefined],
    ['/kubernetes.io/pods/-', undefined],
    ['/a~1b', 1],
    ['/m~0n', 2],
    ['/', 'empty key'],
    ['/sub/x', undefined],
    ['/missing/deeper', undefined],
    // Inherited properties are not claims.
    ['constructor', undefined],
    ['/constructor/name', undefined],
    ['/__proto__', undefined],
    ['toString', undefined],
  ];
  for (const [key, expected] of table) {
    it(`${JSON.stringify(key)}`, () => assert.deepEqual(claimAt(claims, key), expected));
  }
});

describe('boundClaimsMismatch', () => {
  const claims = {
    env: 'prod',
    groups: ['dev', 'snowgate-ops'],
    ref: 'refs/heads/main',
    run: 42,
    protected: true,
    numeric: '7',
    aud: ['snowgate', 'api://other'],
    'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' } },
    'https://example.com/team': 'payments',
  };
  const table: Array<[bound: BoundClaims, expected: string | undefined]> = [
    [{}, undefined],
    [{ env: 'prod' }, undefined],
    [{ env: 'dev' }, 'bound claim "env" does not match'],
    [{ env: ['dev', 'prod'] }, undefined],
    [{ env: ['dev', 'staging'] }, 'bound claim "env" does not match'],
    [{ env: 'pr*' }, undefined],
    [{ env: '*' }, undefined],
    [{ groups: 'snowgate-*' }, undefined],
    [{ groups: 'admins' }, 'bound claim "groups" does not match'],
    [{ groups: ['admins', 'dev'] }, undefined],
    [{ ref: 'refs/heads/*' }, undefined],
    [{ ref: 'refs/tags/*' }, 'bound claim "ref" does not match'],
    [{ run: 42 }, undefined],
    [{ run: 43 }, 'bound claim "run" does not match'],
    [{ run: '42' }, 'bound claim "run" does not match'],
    [{ run: '*' }, 'bound claim "run" does not match'],
    [{ numeric: 7 }, 'bound claim "numeric" does not match'],
    [{ protected: true }, undefined],
    [{ protected: false }, 'bound claim "protected" does not match'],
    [{ protected: 'true' }, 'bound claim "protected" does not match'],
    [{ absent: '*' }, 'bound claim "absent" is missing'],
    [{ '/kubernetes.io/namespace': 'payments' }, undefined],
    [{ '/kubernetes.io/namespace': 'pay*' }, undefined],
    [{ '/kubernetes.io/namespace': 'default' }, 'bound claim "/kubernetes.io/namespace" does not match'],
    [{ '/kubernetes.io/serviceaccount/name': ['api', 'worker'] }, undefined],
    [{ '/kubernetes.io/nope': '*' }, 'bound claim "/kubernetes.io/nope" is missing'],
    // An object claim is never a string, even to a bare *.
    [{ 'kubernetes.io': '*' }, 'bound claim "kubernetes.io" does not match'],
    [{ aud: 'api://*' }, undefined],
    [{ aud: 'snowgate-*' }, 'bound claim "aud" does not match'],
    // A plain key with dots or slashes is one top-level claim, not a path.
    [{ 'https://example.com/team': 'payments' }, undefined],
    [{ 'kubernetes.io.namespace': 'payments' }, 'bound claim "kubernetes.io.namespace" is missing'],
    // All must match; the first failure is reported.
    [{ env: 'prod', run: 1, groups: 'x' }, 'bound claim "run" does not match'],
  ];
  for (const [bound, expected] of table) {
    it(`${JSON.stringify(bound)} → ${expected ?? 'match'}`, () => {
      assert.equal(boundClaimsMismatch(claims, bound), expected);
    });
  }

  it('treats a null claim as missing', () => {
    assert.equal(boundClaimsMismatch({ env: null }, { env: '*' }), 'bound claim "env" is missing');
  });
});
