// The NATS auth callout against a real nats-server 2.10 (issue 10, CONTRACT §8): a token alone
// makes a reader, a token with its lease a publisher on that lease's node only, and anything else
// is refused with an authorization error at once. Clients send the published sentinel creds with
// their token: 2.10 in operator mode refuses a token alone before any callout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { droppedWithin, waitFor } from '../nats/harness.js';
import { startCalloutRegistry, type CalloutRegistry } from './callout-harness.js';

/** Subjects `nc` receives on `subject` from now on. */
async function listen(nc: NatsConnection, subject: string): Promise<string[]> {
  const seen: string[] = [];
  nc.subscribe(subject, { callback: (_e, m: Msg) => void seen.push(`${m.subject} ${m.string()}`) });
  await nc.flush();
  return seen;
}

describe('auth callout on nats-server 2.10', () => {
  let reg: CalloutRegistry;
  const open: NatsConnection[] = [];
  const keep = (nc: NatsConnection) => (open.push(nc), nc);
  before(async () => {
    reg = await startCalloutRegistry();
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await reg?.close();
  });

  it('a token alone subscribes to ids.> but cannot publish there', async () => {
    const reader = keep(await reg.connect(await reg.token('svc-r')));
    const seen = await listen(reader, 'ids.default.>');
    const watcher = keep(await reg.connect(await reg.token('svc-w')));
    const watched = await listen(watcher, 'ids.default.>');
    const { id, node } = await reg.acquire(await reg.token('svc-p'));
    const publisher = keep(await reg.connect(JSON.stringify({ token: await reg.token('svc-p'), lease: id })));
    publisher.publish(`ids.default.${node}.hello`, 'from the lease');
    reader.publish(`ids.default.${node}.forged`, 'from a reader');
    reader.publish('ids.default.1.forged', 'from a reader');
    await publisher.flush();
    await reader.flush().catch(() => undefined);
    await waitFor('the lease holder message at both readers', () => seen.length >= 1 && watched.length >= 1, 5000);
    // The forged ones went out before a flush the watcher answered after them: had the server let
    // them through, they would be here by now.
    await watcher.flush();
    await reader.flush().catch(() => undefined);
    await watcher.flush();
    assert.deepEqual(watched, [`ids.default.${node}.hello from the lease`]);
    assert.deepEqual(seen, [`ids.default.${node}.hello from the lease`]);
  });

  it('lets a stock nats.js client in with the sentinel creds file and its token', async () => {
    const nc = keep(
      await connect({
        servers: reg.natsUrl,
        authenticator: credsAuthenticator(new TextEncoder().encode(reg.sentinelCreds)),
        token: await reg.token('svc-stock'),
        reconnect: false,
      }),
    );
    const seen = await listen(nc, 'ids.default.>');
    assert.deepEqual(seen, []);
    assert.equal(nc.isClosed(), false);
  });

  it('a token with its lease publishes on its own node only', async () => {
    const watcher = keep(await reg.connect(await reg.token('svc-w2')));
    const watched = await listen(watcher, 'ids.default.>');
    const token = await reg.token('svc-q');
    const { id, node } = await reg.acquire(token);
    const other = node === 1 ? 2 : 1;
    const publisher = keep(await reg.connect(JSON.stringify({ token, lease: id })));
    publisher.publish(`ids.default.${other}.forged`, 'not mine');
    publisher.publish(`ids.default.${node}.ok`, 'mine');
    await publisher.flush();
    await waitFor('the publisher message', () => watched.length >= 1, 5000);
    await watcher.flush();
    assert.deepEqual(watched, [`ids.default.${node}.ok mine`]);
  });

  it('refuses a foreign, expired, unbound or malformed token, and a lease not its own, within a second', async () => {
    const other = await reg.acquire(await reg.token('svc-owner'));
    const foreign = await reg.issuer.mint({ sub: 'svc-a', iss: 'https://elsewhere.example', claims: { team: 'ids' } });
    const cases: Record<string, string> = {
      foreign,
      expired: await reg.token('svc-a', { expIn: -60 }),
      unbound: await reg.token('svc-a', { claims: { team: 'other' } }),
      garbage: 'not-a-token',
      'bad json': '{"token": 5}',
      "another's lease": JSON.stringify({ token: await reg.token('svc-a'), lease: other.id }),
      'an unknown lease': JSON.stringify({ token: await reg.token('svc-a'), lease: 'no-such-lease' }),
    };
    for (const [what, token] of Object.entries(cases)) {
      const t0 = Date.now();
      await assert.rejects(reg.connect(token, { timeoutMs: 5000 }), /Authorization Violation/i, what);
      const took = Date.now() - t0;
      assert.ok(took < 1000, `${what}: refused after ${took} ms`);
    }
    const metrics = await (await fetch(`${reg.url}/metrics`)).text();
    for (const reason of ['invalid_token', 'forbidden', 'expired', 'malformed', 'lease_not_yours', 'lease_not_found']) {
      assert.match(metrics, new RegExp(`snowgate_nats_callout_total\\{outcome="${reason}"\\} [1-9]`), reason);
    }
    for (const token of Object.values(cases)) assert.ok(!metrics.includes(token.slice(0, 40)), 'no token in metrics');
  });

  it('drops the connections of a lease within 2 s of its revocation, and refuses it from then on', async () => {
    const token = await reg.token('svc-rev');
    const { id } = await reg.acquire(token);
    const connect = JSON.stringify({ token, lease: id });
    const [a, b] = [keep(await reg.connect(connect)), keep(await reg.connect(connect))];
    const reader = keep(await reg.connect(token));
    await Promise.all([a.flush(), b.flush()]);
    const t0 = Date.now();
    const r = await fetch(`${reg.url}/v1/admin/leases/${id}/revoke`, {
      method: 'POST',
      headers: { authorization: 'Bearer callout-admin-token', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(r.status, 200);
    const left = () => Math.max(0, 2000 - (Date.now() - t0));
    assert.equal(await droppedWithin(a, left()), 'closed', 'first connection');
    assert.equal(await droppedWithin(b, left()), 'closed', 'second connection');
    assert.equal(reader.isClosed(), false, "the principal's reader has no lease to lose");
    await assert.rejects(reg.connect(connect), /Authorization Violation/i);
  });

  it('lets 200 concurrent token connects in', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => reg.token(`svc-many-${i}`)));
    const t0 = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => reg.connect(tokens[i % tokens.length]!, { timeoutMs: 20_000 })),
    );
    const took = Date.now() - t0;
    const failed = results.filter((r) => r.status === 'rejected');
    for (const r of results) if (r.status === 'fulfilled') keep(r.value);
    assert.deepEqual(
      failed.map((f) => String(f.reason)),
      [],
      `${failed.length} of 200 failed (${took} ms)`,
    );
  });
});
