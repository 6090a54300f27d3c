import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, start, tempDir, waitFor } from './helpers.js';

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

describe('snowgate dev', () => {
  it('runs registry and issuer on loopback, prints working token commands, stops on SIGTERM', async (t) => {
    const data = path.join(tempDir(t), 'data');
    const [port, issuerPort] = [await freePort(), await freePort()];
    const p = start(['dev', '--data', data, '--port', String(port), '--issuer-port', String(issuerPort)]);
    t.after(() => p.child.kill('SIGKILL'));
    await waitFor('the walk-through', () => /^ADMIN=/m.test(p.stdout()), 30_000);

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
});
