import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifiedTokens } from '../../src/identity/verified-tokens.js';

describe('VerifiedTokens', () => {
  it('answers until the token expires, then forgets it', () => {
    const c = new VerifiedTokens<string>(10, 60_000);
    c.set('t', 'v', 1_000, 5_000);
    assert.equal(c.get('t', 4_999), 'v');
    assert.equal(c.get('t', 5_000), undefined);
    assert.equal(c.size, 0);
  });

  it('trusts an entry no longer than its maximum age, whatever the exp', () => {
    const c = new VerifiedTokens<string>(10, 100);
    c.set('t', 'v', 1_000, 1_000_000);
    assert.equal(c.get('t', 1_099), 'v');
    assert.equal(c.get('t', 1_100), undefined);
  });

  it('keeps at most its size, dropping the oldest first', () => {
    const c = new VerifiedTokens<number>(3, 60_000);
    for (let i = 0; i < 5; i++) c.set(`t${i}`, i, 0, 10_000);
    assert.equal(c.size, 3);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => c.get(`t${i}`, 1)),
      [undefined, undefined, 2, 3, 4],
    );
  });

  it('remembers nothing already expired, or when its size is 0', () => {
    const expired = new VerifiedTokens<string>(10, 60_000);
    expired.set('t', 'v', 5_000, 5_000);
    assert.equal(expired.size, 0);
    const off = new VerifiedTokens<string>(0, 60_000);
    off.set('t', 'v', 0, 10_000);
    assert.equal(off.get('t', 1), undefined);
  });
});
