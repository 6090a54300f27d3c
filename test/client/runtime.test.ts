import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sleep } from '../../src/client/runtime.js';

const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  // Let the promise chain between timer steps run.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
};

describe('sleep', () => {
  it('waits past the longest setTimeout delay instead of firing after 1 ms', async () => {
    const stop = new AbortController();
    const slept = sleep(2 ** 31 + 1000, stop.signal);
    await delay(100);
    assert.equal(await settled(slept), false, 'a 2^31 ms sleep ended early');
    stop.abort();
    await slept;
  });

  it('covers a long wait in timer-sized steps, ending when the whole of it has passed', async (t) => {
    mock.timers.enable({ apis: ['setTimeout'] });
    t.after(() => mock.timers.reset());
    const slept = sleep(2 ** 31 + 5, new AbortController().signal);
    mock.timers.tick(2 ** 31 - 1);
    assert.equal(await settled(slept), false);
    mock.timers.tick(6);
    assert.equal(await settled(slept), true);
  });

  it('returns at once for nothing to wait or an aborted signal', async () => {
    await sleep(0, new AbortController().signal);
    await sleep(10_000, AbortSignal.abort());
  });
});
