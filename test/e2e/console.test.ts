// The operator console end to end: a real `snowgate serve`, the dev issuer (oidc-provider) for
// one-click OIDC sign-in, and Debian's chromium. Each page is screenshotted into a temp folder.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDevIssuer, DEV_RESOURCE, type DevIssuer } from '../../src/identity/dev-issuer.js';
import { encodeId } from '../../src/snowflake/codec.js';
import { axeViolations, launch, screenshotDir, unreachableByKeyboard } from './console-browser.js';
import { ADMIN_TOKEN, baseConfig, call, freePort, serve, tempDir, type Serve } from './harness.js';

const EPOCH = Date.parse('2024-01-01T00:00:00Z');
const SERVICES = ['svc-a', 'svc-b'];

async function serviceToken(issuer: DevIssuer, sub: string): Promise<string> {
  const r = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sub}:secret-${sub}-0123456789`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

describe('the console in a browser', () => {
  const tmp = tempDir('console-e2e');
  const shots = screenshotDir();
  let issuer: DevIssuer;
  let reg: Serve;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) });

  before(async () => {
    const port = await freePort();
    issuer = await startDevIssuer({
      clients: SERVICES.map((s) => ({ clientId: s, clientSecret: `secret-${s}-0123456789` })),
      browserClients: [
        {
          clientId: 'snowgate-console',
          redirectUris: [`http://127.0.0.1:${port}/ui/auth/callback`],
          accountId: 'dev-admin',
          claims: { groups: ['snowgate-admins'] },
        },
      ],
      onError: () => undefined,
    });
    const config = baseConfig(port, tmp.dir, issuer.issuer, {
      pools: [
        {
          name: 'default',
          epoch: '2024-01-01T00:00:00Z',
          layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
        },
        { name: 'wide', epoch: '2024-01-01T00:00:00Z', layout: { timestampBits: 41, nodeBits: 16, sequenceBits: 6 } },
      ],
      console: { oidc: { clientId: 'snowgate-console', resource: DEV_RESOURCE } },
    });
    [reg, browser] = await Promise.all([serve(tmp.dir, config), launch()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
  });
  after(async () => {
    await browser?.close();
    await reg?.kill('SIGTERM');
    await issuer?.close();
    tmp.remove();
  });

  it('signs in through the dev issuer with one click', async () => {
    await page.goto(`${reg.url}/ui/`);
    await page.getByRole('link', { name: 'Sign in with dev' }).waitFor();
    assert.deepEqual(await axeViolations(page), []);
    await shot('signin');
    await page.getByRole('link', { name: 'Sign in with dev' }).click();
    await page.getByText('dev:dev-admin').waitFor();
    await page.getByRole('heading', { name: 'Pools' }).waitFor();
  });

  it('shows a new lease in the grid within 2 s of its grant', async () => {
    await page.goto(`${reg.url}/ui/#/pools?pool=default&node=17`);
    await page.getByRole('heading', { name: /Node 17/ }).waitFor();
    const token = await serviceToken(issuer, 'svc-a');
    const granted = await call(reg.url, 'POST', '/v1/leases', token, { node: 17, instance: 'pod-17' });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const t0 = Date.now();
    await page.getByText('dev:svc-a', { exact: true }).waitFor({ timeout: 2000 });
    process.stdout.write(`# lease visible in the console ${Date.now() - t0} ms after its grant\n`);
    // The cell itself is drawn in the leased colour: read it off the canvas.
    const colour = await page.evaluate(() => {
      const g = globalThis as any;
      const c = g.document.querySelector('canvas.grid');
      const cell = c.clientWidth / 32;
      const px: number[] = [
        ...c
          .getContext('2d')
          .getImageData(((17 % 32) + 0.5) * cell * g.devicePixelRatio, 0.5 * cell * g.devicePixelRatio, 1, 1).data,
      ];
      const want = String(g.getComputedStyle(c).getPropertyValue('--cell-leased')).trim();
      return {
        got: px
          .slice(0, 3)
          .map((v) => v.toString(16).padStart(2, '0'))
          .join(''),
        want,
      };
    });
    assert.equal(`#${colour.got}`, colour.want);
    await page.mouse.move(0, 0);
    await shot('pools');
  });

  it('draws a 65,536-node pool on one canvas, responsive', async () => {
    const token = await serviceToken(issuer, 'svc-b');
    for (let k = 0; k < 32; k++) {
      const g = await call(reg.url, 'POST', '/v1/leases', token, { pool: 'wide', node: k * 2047, instance: `w-${k}` });
      assert.equal(g.status, 201, JSON.stringify(g.body));
    }
    // The longest main-thread task while the page switches to the wide pool and draws it.
    await page.evaluate(() => {
      const g = globalThis as any;
      g.longTasks = [];
      new g.PerformanceObserver((list: any) => {
        for (const e of list.getEntries()) g.longTasks.push(e.duration);
      }).observe({ type: 'longtask' });
    });
    const t0 = Date.now();
    await page.goto(`${reg.url}/ui/#/pools?pool=wide`);
    await page.getByText(/Grid: 65504 free, 3[12] leased/).waitFor();
    const size = await page.locator('canvas.grid').evaluate((c: any) => [c.clientWidth, c.clientHeight]);
    const longest = await page.evaluate(() => Math.max(0, ...(globalThis as any).longTasks));
    process.stdout.write(
      `# 65,536-cell grid drawn ${Date.now() - t0} ms after navigation; longest main-thread task ${Math.round(longest)} ms\n`,
    );
    assert.deepEqual(size, [512, 512], '256 x 256 cells of 2 px');
    assert.equal(await page.locator('canvas').count(), 1);
    assert.ok((await page.locator('.grid-wrap *').count()) < 12, 'a canvas and a legend: no element per cell');
    await page.locator('canvas.grid').focus();
    await page.keyboard.press('End');
    await page.getByRole('heading', { name: /Node 65535/ }).waitFor();
    await shot('pools-wide');
  });

  it('pins a node, and says in words why a leased node cannot be pinned', async () => {
    await page.goto(`${reg.url}/ui/#/pins?pool=default`);
    const form = page.getByRole('form', { name: 'Pin a node' });
    await form.getByLabel('Node').fill('17');
    await form.getByLabel('Issuer').fill('dev');
    await form.getByLabel('Subject').fill('svc-b');
    await form.getByRole('button', { name: 'Pin' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /^That node is taken: /);
    await shot('pins-conflict');
    await form.getByLabel('Node').fill('5');
    await form.getByLabel('Note').fill('batch worker');
    await form.getByRole('button', { name: 'Pin' }).click();
    await page.getByRole('status').filter({ hasText: 'Pinned default/5 to dev:svc-b.' }).waitFor();
    await page.getByRole('cell', { name: 'batch worker' }).waitFor();
    await page.getByRole('button', { name: 'Edit note of default/5' }).click();
    await page.getByLabel('Note of default/5').fill('nightly batch');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'nightly batch' }).waitFor();
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(await unreachableByKeyboard(page), []);
    await shot('pins');
  });

  it('revokes a lease after a confirmation that names it, and it ends', async () => {
    await page.goto(`${reg.url}/ui/#/leases?state=active`);
    await page.getByRole('cell', { name: 'pod-17' }).waitFor();
    assert.deepEqual(await unreachableByKeyboard(page), []);
    await page.getByRole('button', { name: 'Revoke lease on default/17' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this lease?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /dev:svc-a on default\/17 \(instance pod-17\)/);
    assert.deepEqual(await axeViolations(page), []);
    await shot('leases-confirm');
    await dialog.getByRole('button', { name: 'Revoke lease' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Revoked lease .* \(default\/17\)/ })
      .waitFor();
    await page.getByRole('cell', { name: 'pod-17' }).waitFor({ state: 'detached' });
    const ended = await call(reg.url, 'GET', '/v1/admin/leases?state=ended', ADMIN_TOKEN);
    assert.equal(ended.body[0].endReason, 'revoked');
    await page.goto(`${reg.url}/ui/#/leases?state=ended`);
    await page.getByRole('cell', { name: 'ended: revoked' }).waitFor();
    await shot('leases');
  });

  it('pages the audit log newest first, and filters it', async () => {
    // Enough entries for three pages of 50.
    for (let n = 100; n < 160; n++) {
      await call(reg.url, 'PUT', `/v1/admin/mappings/default/${n}`, ADMIN_TOKEN, { issuer: 'dev', subject: `s${n}` });
    }
    await page.goto(`${reg.url}/ui/#/audit`);
    const firstId = page.locator('tbody tr td:first-child').first();
    await firstId.waitFor();
    const ids = async () => (await page.locator('tbody tr td:first-child').allInnerTexts()).map(Number);
    const page1 = await ids();
    assert.equal(page1.length, 50);
    assert.deepEqual(
      page1,
      [...page1].sort((a, b) => b - a),
      'newest first',
    );
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText('Page 2').waitFor();
    const page2 = await ids();
    assert.ok(page2[0]! < page1.at(-1)!, 'page 2 is older than page 1');
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.getByText('Page 1').waitFor();
    assert.deepEqual(await ids(), page1);
    await page.getByLabel('Action starts with').fill('lease.');
    await page.getByLabel('Action starts with').press('Enter');
    await page.getByRole('cell', { name: 'lease.revoked' }).waitFor();
    const actions = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
    assert.ok(actions.length >= 2 && actions.every((a) => a.startsWith('lease.')), actions.join());
    await page.getByRole('link', { name: 'default/17' }).first().waitFor();
    assert.deepEqual(await axeViolations(page), []);
    await shot('audit');
  });

  it('looks up an ID and names the lease that minted it', async () => {
    const leases = await call(reg.url, 'GET', '/v1/admin/leases?pool=default', ADMIN_TOKEN);
    const lease = leases.body.find((l: { node: number }) => l.node === 17);
    const at = Date.parse(lease.notBefore) + 1;
    const id = encodeId({ timestampBits: 41, nodeBits: 10, sequenceBits: 12 }, EPOCH, {
      timestampMs: at,
      node: 17,
      sequence: 3,
    });
    await page.goto(`${reg.url}/ui/#/lineage`);
    await page.getByLabel('Snowflake ID', { exact: true }).fill(id.toString());
    await page.getByRole('button', { name: 'Look up' }).click();
    const region = page.getByRole('region', { name: 'Lineage of the ID' });
    await region.waitFor();
    const text = await region.innerText();
    assert.match(text, new RegExp(`lease ${lease.id} of dev:svc-a \\(pod-17\\)`));
    assert.match(text, /sequence\s+3/);
    assert.match(text, new RegExp(new Date(at).toISOString().slice(0, 19).replace('T', ' ')));
    await shot('lineage');
  });

  it('shows the keys page, and is readable in the dark theme too', async () => {
    await page.goto(`${reg.url}/ui/#/keys`);
    await page.getByText('NATS is not configured').waitFor();
    await shot('keys');
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await page.goto(`${reg.url}/ui/#/pools?pool=default&node=5`);
    await page.getByRole('heading', { name: /Node 5/ }).waitFor();
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(await unreachableByKeyboard(page), []);
    await shot('pools-dark');
  });

  it('broke none of its own Content-Security-Policy', () => {
    assert.deepEqual(cspViolations, []);
  });
});
