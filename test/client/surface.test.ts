import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every module URL that importing `entry` loads, recorded by a resolve hook in a child process. */
function modulesLoadedBy(entry: string): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'snowgate-surface-'));
  try {
    const log = path.join(dir, 'loaded.txt');
    writeFileSync(
      path.join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`,
    );
    writeFileSync(
      path.join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});`,
    );
    writeFileSync(log, '');
    execFileSync(process.execPath, [
      '--import',
      pathToFileURL(path.join(dir, 'register.mjs')).href,
      '-e',
      `await import(${JSON.stringify(pathToFileURL(entry).href)})`,
      '--input-type=module',
    ]);
    return [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the snowgate/client entry point', () => {
  it('loads no server code: no fastify, database drivers, OIDC provider, registry, store or HTTP layer', () => {
    const loaded = modulesLoadedBy(path.join(DIST, 'client/index.js'));
    assert.ok(
      loaded.some((u) => u.includes('/client/node-lease.js')),
      'the hook saw the client load',
    );
    const ours = loaded
      .filter((u) => u.startsWith(pathToFileURL(DIST).href))
      .map((u) => u.slice(pathToFileURL(DIST).href.length));
    const packages = loaded
      .filter((u) => u.includes('/node_modules/'))
      .map((u) => u.split('/node_modules/').at(-1)!.split('/').slice(0, 2).join('/'));
    for (const banned of ['fastify', 'better-sqlite3', 'pg', 'pino', 'oidc-provider', 'openid-client', 'jose']) {
      assert.ok(!packages.some((p) => p === banned || p.startsWith(`${banned}/`)), `loads ${banned}`);
    }
    const outside = ours.filter((m) => !/^(client|snowflake)\//.test(m) && !['clock.js', 'nats/nkey.js'].includes(m));
    assert.deepEqual(outside, [], 'modules of the server loaded by the client');
  });
});
