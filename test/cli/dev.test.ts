import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { freePort, start, tempDir, waitFor, type Running } from './helpers.js';

function token(out: string, variable: string): { endpoint: string; client: string } {
  const m = new RegExp(`^${variable}=\\$\\(curl -s -u (\\S+) -d grant_type=client_credentials (\\S+) \\|`, 'm').exec(
    out,
  );
  assert.ok(m, `no ${variable} command in:\n${out}`);
  return { client: m[1]!, endpoint: m[2]! };
}

async function fetchToken(t: { endpoint: string; client: string }): Promise<string> {
  const r = await fetch(t.endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(t.client).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { access_token: string }).access_token;
}

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((ok) => {
    const s = net.connect(Number(port), hostname, () => {
      s.end();
      ok(false);
    });
    s.on('error', () => ok(true));
  });
}

/** Stops dev the polite way, so it stops its nats-server child too; SIGKILL only if that hangs. */
async function stopDev(p: Running): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  if ((await Promise.race([p.exit.then(() => 'exited'), sleep(10_000)])) !== 'exited') p.child.kill('SIGKILL');
}

/** `snowgate dev` on free ports, once it has printed its walk-through. */
async function startDev(t: TestContext) {
  const data = path.join(tempDir('cli', t).dir, 'data');
  const [port, issuerPort] = [await freePort(), await freePort()];
  const args = ['dev', '--data', data, '--port', String(port), '--issuer-port', String(issuerPort), '--nats-port', '0'];
  const p = start(args);
  t.after(() => stopDev(p));
  await waitFor('the walk-through', () => /^ADMIN=/m.test(p.stdout()), 30_000);
  return { data, port, p };
}

describe('snowgate dev', () => {
  it('runs registry and issuer on loopback, prints working token commands, stops on SIGTERM', async (t) => {
    const { data, port, p } = await startDev(t);

    const out = p.stdout();
    const service = await fetchToken(token(out, 'TOKEN'));
    const granted = await fetch(`http://127.0.0.1:${port}/v1/leases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instance: 'demo-1' }),
    });
    assert.equal(granted.status, 201, await granted.clone().text());
    const admin = await fetchToken(token(out, 'ADMIN'));
    const leases = await fetch(`http://127.0.0.1:${port}/v1/admin/leases`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(leases.status, 200, await leases.clone().text());
    assert.match(await leases.text(), /dev-service/);

    assert.equal(statSync(path.join(data, 'dev-clients.json')).mode & 0o777, 0o600);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0, p.stderr());
  });

  it('with nats-server on PATH: leases carry working NATS credentials; revoking drops the connection; stopping stops nats-server', async (t) => {
    const { port, p } = await startDev(t);
    const out = p.stdout();
    const natsUrl = /^ {2}nats {6}(nats:\/\/\S+)/m.exec(out)?.[1];
    assert.ok(natsUrl, `no nats URL in:\n${out}`);
    assert.match(out, /^ {2}mode {6}nats-server \d+\.\d+\.\d+: (auth callout on|lease credentials only)/m);
    const registry = `http://127.0.0.1:${port}`;

    const ready = await fetch(`${registry}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { checks: { nats: string } }).checks.nats, 'ok');

    const service = await fetchToken(token(out, 'TOKEN'));
    const granted = await fetch(`${registry}/v1/leases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instance: 'demo-1' }),
    });
    assert.equal(granted.status, 201, await granted.clone().text());
    const body = (await granted.json()) as {
      lease: { id: string; node: number };
      nats?: { servers: string[]; creds: string };
    };
    assert.ok(body.nats, 'the lease carries NATS credentials');
    assert.deepEqual(body.nats.servers, [natsUrl]);

    const nc = await connect({
      servers: body.nats.servers,
      authenticator: credsAuthenticator(new TextEncoder().encode(body.nats.creds)),
      reconnect: false,
    });
    t.after(() => nc.close());
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(s.error.message);
    })();
    const received: string[] = [];
    nc.subscribe('ids.default.>', {
      callback: (_e, m) => {
        received.push(m.subject);
      },
    });
    const mine = `ids.default.${body.lease.node}.hello`;
    const other = `ids.default.${body.lease.node + 1}.hello`;
    nc.publish(mine, 'minted under my lease');
    nc.publish(other, 'not my node');
    await nc.flush();
    await waitFor('its own message', () => received.includes(mine));
    await waitFor('the permissions violation', () =>
      errors.some((e) => e.includes(`Permissions Violation for Publish to "${other}"`)),
    );
    assert.ok(!received.includes(other));

    const admin = await fetchToken(token(out, 'ADMIN'));
    const revoked = await fetch(`${registry}/v1/admin/leases/${body.lease.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'test' }),
    });
    assert.equal(revoked.status, 200, await revoked.clone().text());
    const dropped = await Promise.race([nc.closed().then(() => true), sleep(3_000).then(() => false)]);
    assert.ok(dropped, 'the revoked connection is dropped within 3 s');

    p.child.kill('SIGINT');
    assert.equal(await p.exit, 0, p.stderr());
    assert.ok(await refused(natsUrl), 'its nats-server is gone');
  });
});
