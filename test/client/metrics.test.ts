import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { CLIENT_METRICS, NodeLease } from '../../src/client/index.js';
import { FakeRuntime, leaseBody, type Answer } from './fake-runtime.js';

describe('client metrics', () => {
  it('counts mints and renewals, and exposes them on a prom-client registry summed per pool', async () => {
    let n = 0;
    const rt: FakeRuntime = new FakeRuntime((r): Answer =>
      r.method === 'DELETE'
        ? { status: 204 }
        : {
            status: r.path === '/v1/leases' ? 201 : 200,
            body: leaseBody({
              id: r.path === '/v1/leases' ? `m${++n}` : r.path.split('/')[3]!,
              node: n,
              wallNow: rt.wall,
            }),
          },
    );
    const prom = new Registry();
    const opts = {
      registry: 'http://registry.test',
      token: 't',
      runtime: rt.runtime,
      clock: rt.clock,
      metrics: { registry: prom },
    };
    const [a, b] = [await NodeLease.acquire(opts), await NodeLease.acquire(opts)];
    for (let i = 0; i < 10; i++) a.nextId();
    for (let i = 0; i < 5; i++) b.nextIdString();
    await rt.advance(5_000); // both renew once
    assert.equal(a.metrics().idsMinted, 10);
    assert.equal(a.metrics().renewals, 1);
    assert.equal(a.metrics().renewLatency.count, 1);

    const text = await prom.metrics();
    assert.match(text, new RegExp(`^${CLIENT_METRICS.idsMinted}\\{pool="default"\\} 15$`, 'm'));
    assert.match(text, new RegExp(`^${CLIENT_METRICS.renewLatency}_count\\{pool="default"\\} 2$`, 'm'));
    assert.match(text, new RegExp(`^${CLIENT_METRICS.renewLatency}_bucket\\{pool="default",le="\\+Inf"\\} 2$`, 'm'));
    for (const name of Object.values(CLIENT_METRICS)) assert.match(text, new RegExp(`# TYPE ${name} `));

    await a.close();
    assert.match(
      await prom.metrics(),
      new RegExp(`^${CLIENT_METRICS.idsMinted}\\{pool="default"\\} 5$`, 'm'),
      'a closed lease is no longer counted',
    );
    await b.close();
  });
});
