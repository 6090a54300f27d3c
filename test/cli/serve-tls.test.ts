import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { freePort, run, start, tempDir, waitFor } from './helpers.js';

/** A self-signed certificate for 127.0.0.1, by the openssl CLI. */
function certificate(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function config(dir: string, port: number, extra: Record<string, unknown> = {}) {
  return {
    server: { host: '127.0.0.1', port, ...extra },
    store: { kind: 'sqlite', path: path.join(dir, 'snowgate.db') },
    pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z' }],
    log: { level: 'silent' },
  };
}

/** GET /healthz over one connection of `agent`, trusting only `ca`; the certificate's CN. */
function get(port: number, ca: string, agent: https.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/healthz', ca: readFileSync(ca), agent }, (res) => {
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject.CN);
      res.resume();
      res.on('end', () => resolve(`${res.statusCode ?? 0} ${cn}`));
    });
    req.on('error', reject);
  });
}

describe('snowgate serve --check', () => {
  it('exits 0 on a configuration that loads, without starting, and 2 naming the key otherwise', async (t) => {
    const dir = tempDir('cli', t).dir;
    const ok = path.join(dir, 'ok.json');
    writeFileSync(ok, JSON.stringify(config(dir, 1)));
    const r = await run(['serve', '--check', '--config', ok]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is a valid configuration/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ ...config(dir, 1), issuers: [{ name: 'g', preset: 'google', audience: ['x'] }] }),
    );
    const b = await run(['serve', '--check', '--config', bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /issuers\[0\]\.claims: required for google/);
  });
});

describe('snowgate serve with server.tls', () => {
  it('refuses files that are missing or not a pair, naming the key (exit 2)', async (t) => {
    const dir = tempDir('cli', t).dir;
    const a = certificate(dir, 'a');
    const b = certificate(dir, 'b');
    for (const [tls, why] of [
      [{ cert: path.join(dir, 'none.crt'), key: a.key }, /server\.tls\.cert: cannot read/],
      [{ cert: a.cert, key: b.key }, /server\.tls: .* are not a certificate and its key/],
    ] as const) {
      const file = path.join(dir, 'c.json');
      writeFileSync(file, JSON.stringify(config(dir, await freePort(), { tls })));
      const r = await run(['serve', '--config', file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why);
    }
  });

  it('serves HTTPS, and takes a renewed certificate on SIGHUP without dropping open connections', async (t) => {
    const dir = tempDir('cli', t).dir;
    const first = certificate(dir, 'first');
    const second = certificate(dir, 'second');
    const live = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    writeFileSync(live.cert, readFileSync(first.cert));
    writeFileSync(live.key, readFileSync(first.key));
    const port = await freePort();
    const file = path.join(dir, 'tls.json');
    writeFileSync(file, JSON.stringify(config(dir, port, { tls: live })));
    const p = start(['serve', '--config', file]);
    t.after(() => p.child.kill('SIGKILL'));
    const kept = new https.Agent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0 });
    t.after(() => kept.destroy());
    let exited: number | null | undefined;
    void p.exit.then((code) => (exited = code));
    await waitFor(
      'https /healthz',
      () => {
        if (exited !== undefined) throw new Error(`serve exited ${exited}: ${p.stderr()}`);
        return get(port, first.cert, kept).catch(() => false);
      },
      30_000,
    );
    assert.equal(await get(port, first.cert, kept), '200 first');

    // A renewal as cert-manager or certbot does it: new files moved into place.
    writeFileSync(`${live.cert}.new`, readFileSync(second.cert));
    writeFileSync(`${live.key}.new`, readFileSync(second.key));
    renameSync(`${live.cert}.new`, live.cert);
    renameSync(`${live.key}.new`, live.key);
    p.child.kill('SIGHUP');
    await waitFor('the reload', () => /reloaded/.test(p.stderr()));
    assert.equal(await get(port, first.cert, kept), '200 first', 'the open connection goes on');
    const fresh = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
    assert.equal(await get(port, second.cert, fresh), '200 second', 'a new connection gets the new certificate');

    // A broken renewal is refused; the pair in use stays.
    writeFileSync(live.key, readFileSync(first.key));
    p.child.kill('SIGHUP');
    await waitFor('the refused reload', () => /keeping the TLS certificate in use/.test(p.stderr()));
    assert.equal(await get(port, second.cert, fresh), '200 second');
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0, p.stderr());
  });
});

describe('snowgate dev-issuer', () => {
  it('runs the dev issuer alone and prints how to get tokens from it', async (t) => {
    const dir = tempDir('cli', t).dir;
    const port = await freePort();
    const p = start(['dev-issuer', '--data', dir, '--port', String(port)]);
    t.after(() => p.child.kill('SIGKILL'));
    await waitFor('the token commands', () => /an admin token/.test(p.stdout()));
    assert.match(p.stdout(), new RegExp(`http://127\\.0\\.0\\.1:${port} \\(audience snowgate\\)`));
    const secrets = JSON.parse(readFileSync(path.join(dir, 'dev-clients.json'), 'utf8')) as { admin: string };
    const r = await fetch(`http://127.0.0.1:${port}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`dev-admin:${secrets.admin}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token } = (await r.json()) as { access_token: string };
    const claims = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(claims.iss, `http://127.0.0.1:${port}`);
    assert.deepEqual(claims.groups, ['snowgate-admins']);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });
});
