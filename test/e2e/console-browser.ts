/** The browser side of the console tests: Debian's chromium through playwright-core, axe-core, keyboard walks. */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** Where the screenshots go: a fresh temp folder, printed so a person can look. */
export function screenshotDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-console-shots-'));
  process.stdout.write(`# console screenshots: ${dir}\n`);
  return dir;
}

let axeSource: Promise<string> | undefined;

/**
 * axe-core's serious and critical violations on the page as it is. Evaluated over the DevTools
 * protocol, which the page's CSP does not govern, so the console needs no exception for it.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  const result = await page.evaluate(async () => {
    const g = globalThis as any;
    return g.axe.run(g.document, { resultTypes: ['violations'] });
  });
  return (result.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * Tabs through the page from the top until focus comes back round, and returns the controls
 * that are on the page, visible and enabled, but were never focused.
 */
export async function unreachableByKeyboard(page: Page): Promise<string[]> {
  await page.evaluate(() => {
    const doc = (globalThis as any).document;
    doc.activeElement?.blur();
    for (const el of doc.querySelectorAll('[data-kb]')) el.removeAttribute('data-kb');
  });
  // Each focused element is numbered once; focus coming back to a numbered one is the lap's end.
  const mark = () => {
    const doc = (globalThis as any).document;
    const el = doc.activeElement;
    if (!el || el === doc.body) return { id: '', fresh: false };
    const had = el.getAttribute('data-kb');
    if (had) return { id: had, fresh: false };
    const id = String(doc.querySelectorAll('[data-kb]').length + 1);
    el.setAttribute('data-kb', id);
    return { id, fresh: true };
  };
  for (let i = 0; i < 300; i++) {
    await page.keyboard.press('Tab');
    const { id, fresh } = await page.evaluate(mark);
    if (id !== '' && !fresh) break;
  }
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    const controls: any[] = [
      ...doc.querySelectorAll(
        'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea, [tabindex]:not([tabindex="-1"])',
      ),
    ];
    return controls
      .filter((el) => el.getClientRects().length > 0 && !el.closest('[inert]') && !el.hasAttribute('data-kb'))
      .map((el) => String(el.outerHTML).slice(0, 120));
  });
}
