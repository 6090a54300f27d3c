/**
 * The README's publisher and subscriber (examples/), run as it prints them against `snowgate dev`:
 * the built files with node, in a folder holding the walk-through's `token` file. Only the registry
 * differs (SNOWGATE_REGISTRY), because dev runs on free ports here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, start, tempDir, waitFor, type Running } from '../cli/helpers.js';

// This file compiles to dist/test/e2e/; the examples to dist/examples/, their sources to examples/.
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const ROOT = path.resolve(DIST, '..');
const EXAMPLES = ['publisher', 'subscriber'];

interface Child {
  out(): string;
  exit: Promise<number | null>;
  signal(s: NodeJS.Signals): void;
}

function runExample(name: string, cwd: string, registry: string): Child {
  const child = spawn(process.execPath, [path.join(DIST, 'examples', `${name}.js`)], {
    cwd,
    env: { ...process.env, SNOWGATE_REGISTRY: registry },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  return { out: () => out, exit, signal: (s) => void child.kill(s) };
}

/** Resolves with the exit code, or fails with what the process printed when it outlives `ms`. */
async function exited(c: Child, what: string, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((ok) => (timer = setTimeout(() => ok('late'), ms)));
  const code = await Promise.race([c.exit, late]).finally(() => clearTimeout(timer));
  if (code === 'late') {
    c.signal('SIGKILL');
    throw new Error(`${what} did not exit within ${ms} ms; it printed:\n${c.out()}`);
  }
  return code;
}

/** Stops dev the polite way, so it stops its nats-server too; SIGKILL only if that hangs. */
async function stopDev(p: Running): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const dev = { out: p.stdout, exit: p.exit, signal: (s: NodeJS.Signals) => void p.child.kill(s) };
  await exited(dev, 'snowgate dev after SIGTERM', 10_000);
}

/** A dev-service token the way the walk-through's TOKEN command gets one (client credentials). */
async function serviceToken(walkthrough: string): Promise<string> {
  const m = /^TOKEN=\$\(curl -s -u (\S+) -d grant_type=client_credentials (\S+) \|/m.exec(walkthrough);
  assert.ok(m, `no TOKEN command in:\n${walkthrough}`);
  const r = await fetch(m[2]!, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(m[1]!).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { access_token: string }).access_token;
}

async function startDev(t: TestContext): Promise<{ registry: string; cwd: string }> {
  const cwd = tempDir('cli', t).dir;
  const [port, issuerPort] = [await freePort(), await freePort()];
  const ports = ['--port', String(port), '--issuer-port', String(issuerPort), '--nats-port', '0'];
  const p = start(['dev', '--data', path.join(cwd, 'data'), ...ports], { cwd });
  t.after(() => stopDev(p));
  await waitFor('the walk-through', () => /^ADMIN=/m.test(p.stdout()) || p.child.exitCode !== null, 30_000).catch(
    (e: Error) => assert.fail(`${e.message}; dev printed:\n${p.stdout()}\n${p.stderr()}`),
  );
  assert.match(p.stdout(), /^ {2}nats {6}nats:\/\//m, `dev runs without NATS:\n${p.stdout()}\n${p.stderr()}`);
  writeFileSync(path.join(cwd, 'token'), `${await serviceToken(p.stdout())}\n`);
  return { registry: `http://127.0.0.1:${port}`, cwd };
}

describe('examples/', () => {
  it('are in the README as they are in examples/', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const name of EXAMPLES) {
      const source = readFileSync(path.join(ROOT, 'examples', `${name}.ts`), 'utf8');
      assert.ok(readme.includes('```ts\n' + source + '```\n'), `README.md does not show examples/${name}.ts as it is`);
      assert.ok(readme.includes(`node dist/examples/${name}.js`), `README.md does not say how to run ${name}`);
    }
  });

  it('the subscriber receives and verifies every message the publisher sends, against snowgate dev', async (t) => {
    const { registry, cwd } = await startDev(t);

    const sub = runExample('subscriber', cwd, registry);
    t.after(() => sub.signal('SIGKILL'));
    await waitFor('the subscriber', () => /^listening on /m.test(sub.out()) || sub.out().includes('Error'), 15_000)
      .then(() => assert.match(sub.out(), /^listening on ids\.default\.> as node \d+$/m, sub.out()))
      .catch((e: Error) => assert.fail(`${e.message}; it printed:\n${sub.out()}`));

    const pub = runExample('publisher', cwd, registry);
    assert.equal(await exited(pub, 'the publisher', 20_000), 0, pub.out());
    const published = [...pub.out().matchAll(/^published (\d+) on ids\.default\.(\d+)\.greetings$/gm)];
    assert.equal(published.length, 5, pub.out());

    // Each ID once, in order, with its payload, its holder and a valid signature.
    const expected = published.map(
      ([, id, node], i) => `${id} hello ${i + 1}: node ${node}, minted by dev-service (publisher), ok, signature valid`,
    );
    const lines = (): string[] =>
      sub
        .out()
        .split('\n')
        .filter((l) => /^\d+ /.test(l));
    await waitFor('the subscriber to print all five', () => lines().length >= 5, 15_000).catch((e: Error) =>
      assert.fail(`${e.message}; it printed:\n${sub.out()}`),
    );

    // Ctrl-C: the subscriber releases its lease and ends, having printed nothing more.
    sub.signal('SIGINT');
    assert.equal(await exited(sub, 'the subscriber after SIGINT', 15_000), 0, sub.out());
    assert.deepEqual(lines(), expected);
  });
});
