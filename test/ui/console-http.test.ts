// The console's server side against a real registry (in process) and the dev issuer: assets and
// their headers, the session cookie, CSRF, ETags, and sign-in by token and by OIDC code + PKCE.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/load.js';
import { startDevIssuer, DEV_RESOURCE, type DevIssuer } from '../../src/identity/dev-issuer.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { browse } from '../identity/browse.js';
import { freePort } from '../nats/harness.js';

const ADMIN_TOKEN = 'console-test-admin-token-0123';

function cookiesOf(res: Response): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of res.headers.getSetCookie()) m.set(c.slice(0, c.indexOf('=')), c);
  return m;
}

function valueOf(setCookie: string): string {
  return setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
}

describe('the console over HTTP', () => {
  let dir: string;
  let issuer: DevIssuer;
  let reg: RunningServer;
  let url: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'snowgate-console-http-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    issuer = await startDevIssuer({
      clients: [
        { clientId: 'svc', clientSecret: 'svc-secret-0123456789' },
        { clientId: 'auditor', clientSecret: 'auditor-secret-0123456789', claims: { groups: ['snowgate-viewers'] } },
      ],
      browserClients: [
        {
          clientId: 'snowgate-console',
          redirectUris: [`${url}/ui/auth/callback`],
          accountId: 'dev-admin',
          claims: { groups: ['snowgate-admins'] },
        },
        // Signs in fine at the issuer, but its tokens carry no admin role.
        { clientId: 'no-role', redirectUris: [`${url}/ui/auth/callback`], accountId: 'someone' },
      ],
      onError: () => undefined,
    });
    const config = resolveConfig({
      server: { host: '127.0.0.1', port },
      store: { kind: 'sqlite', path: path.join(dir, 'db.sqlite') },
      pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z' }],
      issuers: [{ name: 'dev', issuer: issuer.issuer, audience: ['snowgate'], algorithms: ['RS256'] }],
      admin: { bootstrapToken: ADMIN_TOKEN, issuer: 'dev', viewerRole: 'snowgate-viewers' },
      console: { oidc: { clientId: 'snowgate-console', resource: DEV_RESOURCE } },
      log: { level: 'silent' },
    });
    reg = await startServer(config);
  });
  after(async () => {
    await reg?.close();
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signInWithToken(token = ADMIN_TOKEN): Promise<{ cookie: string; csrf: string; res: Response }> {
    const res = await fetch(`${url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ token }),
    });
    const set = cookiesOf(res).get('snowgate_session') ?? '';
    const body = (await res.json()) as { csrf?: string };
    return { cookie: `snowgate_session=${valueOf(set)}`, csrf: body.csrf ?? '', res };
  }

  it('serves the page with a strict CSP, no-cache for the index and immutable hashed assets', async () => {
    const index = await fetch(`${url}/ui/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(url + script);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const again = await fetch(url + script, { headers: { 'if-none-match': asset.headers.get('etag')! } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${url}/ui`, { redirect: 'manual' })).headers.get('location'), '/ui/');
    assert.equal((await fetch(`${url}/ui/assets/nope.js`)).status, 404);
  });

  it('signs in with the bootstrap token into an HttpOnly, SameSite=Strict cookie', async () => {
    const { res, csrf } = await signInWithToken();
    assert.equal(res.status, 200);
    const set = cookiesOf(res).get('snowgate_session') ?? '';
    assert.match(set, /HttpOnly/i);
    assert.match(set, /SameSite=Strict/i);
    assert.match(set, /Path=\//);
    assert.match(set, /Max-Age=28800/, 'the default 8 h session');
    assert.ok(csrf.length > 20);
    assert.ok(!csrf.includes(ADMIN_TOKEN));
  });

  it('refuses a wrong token (401) and a workload token (403), setting no cookie', async () => {
    const wrong = await signInWithToken('not-the-token-at-all-000');
    assert.equal(wrong.res.status, 401);
    assert.equal(cookiesOf(wrong.res).size, 0);
    const basic = Buffer.from('svc:svc-secret-0123456789').toString('base64');
    const t = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const workload = await signInWithToken(((await t.json()) as { access_token: string }).access_token);
    assert.equal(workload.res.status, 403);
    assert.equal(cookiesOf(workload.res).size, 0);
  });

  it('signs a viewer in, who reads everything and changes nothing', async () => {
    const basic = Buffer.from('auditor:auditor-secret-0123456789').toString('base64');
    const t = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const { res, cookie, csrf } = await signInWithToken(((await t.json()) as { access_token: string }).access_token);
    assert.equal(res.status, 200);
    assert.equal(
      ((await fetch(`${url}/ui/session`, { headers: { cookie } }).then((r) => r.json())) as { role: string }).role,
      'viewer',
    );
    const headers = { cookie, 'x-snowgate-csrf': csrf };
    assert.equal((await fetch(`${url}/v1/admin/leases`, { headers })).status, 200);
    const pin = await fetch(`${url}/v1/admin/mappings/default/4`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ issuer: 'dev', subject: 'svc' }),
    });
    assert.equal(pin.status, 403);
  });

  it('lets a cookie act only together with its CSRF header', async () => {
    const { cookie, csrf } = await signInWithToken();
    const bare = await fetch(`${url}/v1/admin/leases`, { headers: { cookie } });
    assert.equal(bare.status, 403);
    assert.match(((await bare.json()) as { detail: string }).detail, /x-snowgate-csrf/);
    const forged = await fetch(`${url}/v1/admin/mappings/default/3`, {
      method: 'PUT',
      headers: { cookie, 'x-snowgate-csrf': 'x'.repeat(43), 'content-type': 'application/json' },
      body: JSON.stringify({ issuer: 'dev', subject: 'svc' }),
    });
    assert.equal(forged.status, 403);
    const pinned = await fetch(`${url}/v1/admin/mappings/default/3`, {
      method: 'PUT',
      headers: { cookie, 'x-snowgate-csrf': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ issuer: 'dev', subject: 'svc' }),
    });
    assert.equal(pinned.status, 201);
    assert.equal(((await pinned.json()) as { createdBy: string }).createdBy, 'admin:bootstrap');
    assert.equal((await fetch(`${url}/ui/session`, { method: 'DELETE', headers: { cookie } })).status, 403);
    const out = await fetch(`${url}/ui/session`, { method: 'DELETE', headers: { cookie, 'x-snowgate-csrf': csrf } });
    assert.equal(out.status, 204);
    assert.match(cookiesOf(out).get('snowgate_session') ?? '', /Expires=Thu, 01 Jan 1970/);
  });

  it('answers an unchanged GET with 304 by its ETag', async () => {
    const { cookie, csrf } = await signInWithToken();
    const headers = { cookie, 'x-snowgate-csrf': csrf };
    const first = await fetch(`${url}/v1/admin/mappings`, { headers });
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const same = await fetch(`${url}/v1/admin/mappings`, { headers: { ...headers, 'if-none-match': etag } });
    assert.equal(same.status, 304);
    assert.equal(await same.text(), '');
    await fetch(`${url}/v1/admin/mappings/default/9`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ issuer: 'dev', subject: 'other' }),
    });
    const changed = await fetch(`${url}/v1/admin/mappings`, { headers: { ...headers, 'if-none-match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
  });

  it('signs in through the issuer with authorization code + PKCE, one click', async () => {
    const start = await fetch(`${url}/ui/auth/login`, { redirect: 'manual' });
    assert.equal(start.status, 303);
    const to = new URL(start.headers.get('location')!);
    assert.equal(to.origin, issuer.issuer);
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(to.searchParams.get('code_challenge'));
    assert.ok(to.searchParams.get('state'));
    const txn = cookiesOf(start).get('snowgate_signin') ?? '';
    assert.match(txn, /HttpOnly/i);
    assert.match(txn, /SameSite=Lax/i);
    const jar = new Map([[url, new Map([['snowgate_signin', valueOf(txn)]])]]);
    const { url: back } = await browse(to, issuer.issuer, jar);
    assert.equal(back.origin + back.pathname, `${url}/ui/auth/callback`);
    const done = await fetch(back, { headers: { cookie: `snowgate_signin=${valueOf(txn)}` } });
    assert.equal(done.status, 200, await done.clone().text());
    assert.match(await done.text(), /http-equiv="refresh" content="0;url=\/ui\/"/);
    const session = cookiesOf(done).get('snowgate_session') ?? '';
    assert.match(session, /SameSite=Strict/i);
    const me = await fetch(`${url}/ui/session`, { headers: { cookie: `snowgate_session=${valueOf(session)}` } });
    const body = (await me.json()) as { signedIn: boolean; actor: string; expiresAt: string };
    assert.equal(body.signedIn, true);
    assert.equal(body.actor, 'dev:dev-admin');
    assert.ok(Date.parse(body.expiresAt) > Date.now());
  });

  it('sends a callback without its sign-in back to the page with the reason', async () => {
    const res = await fetch(`${url}/ui/auth/callback?code=x&state=y`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.match(decodeURIComponent(res.headers.get('location')!), /signin_error=no sign-in in progress/);
    const denied = await fetch(`${url}/ui/auth/callback?error=access_denied`, { redirect: 'manual' });
    assert.match(decodeURIComponent(denied.headers.get('location')!), /access_denied/);
  });

  it('says so when a session is no longer valid, and clears it', async () => {
    const res = await fetch(`${url}/ui/session`, { headers: { cookie: 'snowgate_session=stale-token-value-123' } });
    const body = (await res.json()) as { signedIn: boolean; reason: string; signIn: { oidc: string } };
    assert.equal(body.signedIn, false);
    assert.ok(body.reason);
    assert.equal(body.signIn.oidc, 'dev');
    assert.match(cookiesOf(res).get('snowgate_session') ?? '', /Expires=Thu, 01 Jan 1970/);
  });
});

describe('the console when the admin issuer is down', () => {
  it('answers sign-in with 503 and Retry-After, and the token sign-in still works', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-console-down-'));
    const port = await freePort();
    const reg = await startServer(
      resolveConfig({
        server: { host: '127.0.0.1', port },
        store: { kind: 'sqlite', path: path.join(dir, 'db.sqlite') },
        pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z' }],
        // Nothing listens there.
        issuers: [{ name: 'gone', issuer: `http://127.0.0.1:${await freePort()}`, audience: ['snowgate'] }],
        admin: { bootstrapToken: ADMIN_TOKEN, issuer: 'gone' },
        console: { oidc: { clientId: 'snowgate-console' } },
        log: { level: 'silent' },
      }),
    );
    try {
      const res = await fetch(`${reg.url}/ui/auth/login`, { redirect: 'manual' });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(((await res.json()) as { code: string }).code, 'unavailable');
      const token = await fetch(`${reg.url}/ui/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: ADMIN_TOKEN }),
      });
      assert.equal(token.status, 200);
    } finally {
      await reg.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
