/** The grant body as the shared schema serialises it: nothing a route adds may be dropped on the way out. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkLeaseResponse } from '../../src/client/wire.js';
import { startTestRegistry, type TestRegistry } from '../../src/testing/index.js';

describe('the grant body', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ nats: true });
  });
  after(() => reg.close());

  const grant = async (instance: string) => {
    const r = await fetch(`${reg.url}/v1/leases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await reg.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instance }),
    });
    assert.equal(r.status, 201);
    return checkLeaseResponse(await r.json());
  };

  it('names the lease a grant superseded, and whether NATS confirmed its revocation', async () => {
    const first = await grant('twin');
    assert.equal(first.superseded, undefined);
    const second = await grant('twin');
    assert.equal(second.superseded?.id, first.lease.id);
    assert.ok(['revoked', 'pending'].includes(second.superseded?.nats ?? ''), JSON.stringify(second.superseded));
    assert.ok(second.nats?.seed && second.nats.creds, 'a registry-made key comes with its seed and creds');
  });
});
