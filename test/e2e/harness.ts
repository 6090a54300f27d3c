/** End-to-end harness: the real CLI as a child process, a real oidc-provider issuer, free loopback ports. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startDevIssuer, type DevIssuer } from '../../src/identity/dev-issuer.js';

import { freePort, tempDir } from '../support.js';

export { freePort, tempDir };

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

/** A real OIDC issuer (oidc-provider) with one client per subject; tokens via client_credentials. */
export async function startIssuer(
  subjects: string[],
  admins: string[] = [],
): Promise<DevIssuer & { token(sub: string): Promise<string> }> {
  const clients = [...subjects, ...admins].map((s) => ({
    clientId: s,
    clientSecret: `secret-${s}-0123456789abcdef`,
    ...(admins.includes(s) ? { claims: { groups: ['snowgate-admins'] } } : {}),
  }));
  const issuer = await startDevIssuer({ clients, onError: () => undefined });
  return Object.assign(issuer, {
    async token(sub: string): Promise<string> {
      const r = await fetch(issuer.tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${sub}:secret-${sub}-0123456789abcdef`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      const body = (await r.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no token for ${sub}: ${r.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
  });
}

export interface Serve {
  url: string;
  child: ChildProcess;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Writes `config` to `dir` and runs `snowgate serve`, resolving once /healthz answers. */
export async function serve(dir: string, config: object): Promise<Serve> {
  const file = path.join(dir, 'snowgate.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const { port } = (config as { server: { port: number } }).server;
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error(`serve did not start: ${out}`);
    await sleep(50);
  }
  return {
    url,
    child,
    output: () => out,
    kill: async (signal) => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function baseConfig(port: number, dir: string, issuer: string, extra: Record<string, unknown> = {}) {
  return {
    server: { host: '127.0.0.1', port },
    store: { kind: 'sqlite', path: path.join(dir, 'snowgate.db') },
    lease: { ttl: '60s', maxClockSkew: '1s', maxPerPrincipal: 4096 },
    pools: [
      { name: 'default', epoch: '2024-01-01T00:00:00Z', layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 } },
    ],
    issuers: [{ name: 'dev', issuer, audience: ['snowgate'], algorithms: ['RS256'] }],
    admin: { bootstrapToken: ADMIN_TOKEN, issuer: 'dev', roleClaim: 'groups', adminRole: 'snowgate-admins' },
    log: { level: 'warn' },
    ...extra,
  };
}

export async function call(
  url: string,
  method: string,
  route: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(url + route, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: r.status, body: parsed, headers: r.headers };
}

/** Waits until /readyz answers `status` (200: the store and NATS are ready; 503: one is not). */
export async function readyzBecomes(url: string, status: 200 | 503, what = `/readyz ${status}`): Promise<void> {
  for (let i = 0; (await call(url, 'GET', '/readyz', undefined)).status !== status; i++) {
    if (i >= 150) throw new Error(`${what}: not within 15 s`);
    await sleep(100);
  }
}
