import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { RateLimiter } from '../../src/registry/rate-limit.js';

describe('rate limiter', () => {
  it('allows a burst, then one per 1/rate seconds, per key', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(0.5, 3, clock);
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.take('a')),
      [0, 0, 0],
    );
    assert.equal(limiter.take('a'), 2, 'the next token is 2 s away');
    assert.equal(limiter.take('b'), 0, 'another key has its own bucket');
    clock.advance(1000);
    assert.equal(limiter.take('a'), 1);
    clock.advance(1000);
    assert.equal(limiter.take('a'), 0);
    clock.advance(60_000);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.take('a')),
      [0, 0, 0, 2],
      'refills only up to the burst',
    );
  });

  it('is off at rate 0', () => {
    const limiter = new RateLimiter(0, 1, new ManualClock());
    for (let i = 0; i < 100; i++) assert.equal(limiter.take('a'), 0);
  });
});
