/**
 * `snowgate/testing`: a registry for your own tests, in process, the way Temporal's SDK ships a
 * test environment. A temporary SQLite store, a built-in OIDC issuer (oidc-provider, so tokens
 * are real), and a real nats-server in operator mode when one is on PATH. Close it when done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { resolveConfig } from '../config/load.js';
import { startDevIssuer } from '../identity/dev-issuer.js';
import { initNats } from '../nats/init.js';
import { startServer } from '../main.js';
import { startNatsServer, type TestNatsServer } from './nats-server.js';
import { onPath } from '../cli/dev-nats.js';

export { startNatsServer, type TestNatsServer, type TestNatsServerOptions } from './nats-server.js';

export interface TestRegistryOptions {
  /** Principals the built-in issuer gives tokens to (its clients). @default ['service-a', 'service-b', 'service-c'] */
  subjects?: string[];
  /** Start nats-server and issue NATS credentials: true, false, or 'auto' (when on PATH). @default 'auto' */
  nats?: boolean | 'auto';
  /** The `lease` section, as in the configuration file. @default { ttl: '60s', maxClockSkew: '1s' } */
  lease?: Record<string, unknown>;
  /** The `pools` section. @default one pool `default`, 41/10/12 bits, epoch 2024-01-01 */
  pools?: Array<Record<string, unknown>>;
  /** More of the `nats` section (permissions, signingKeyRotation). */
  natsConfig?: Record<string, unknown>;
  /** The registry's clock (SQLite takes it): step it to test expiry without waiting. */
  clock?: Clock;
  /** @default 'warn' */
  logLevel?: string;
}

export interface TestRegistry {
  /** The registry's base URL. */
  url: string;
  /** The built-in issuer's URL and the name the registry knows it by (principals' `issuer`). */
  issuer: { url: string; name: string };
  /** A fresh bearer token for one of `subjects`. */
  token(subject?: string): Promise<string>;
  /** The admin API's bootstrap token. */
  adminToken: string;
  /** The nats-server, when NATS is on. */
  nats: TestNatsServer | undefined;
  /** Stops everything and removes the temporary folder. */
  close(): Promise<void>;
}

const ISSUER_NAME = 'test';
const ADMIN_TOKEN = 'snowgate-testing-admin-token';
const secretOf = (subject: string): string => `secret-${subject}-for-tests-only`;

export async function startTestRegistry(o: TestRegistryOptions = {}): Promise<TestRegistry> {
  const subjects = o.subjects ?? ['service-a', 'service-b', 'service-c'];
  const wantNats = o.nats === 'auto' || o.nats === undefined ? onPath('nats-server') !== undefined : o.nats;
  const dir = await mkdtemp(path.join(tmpdir(), 'snowgate-testing-'));
  const cleanup: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
  };
  try {
    const issuer = await startDevIssuer({
      clients: subjects.map((s) => ({ clientId: s, clientSecret: secretOf(s) })),
      onError: () => undefined,
    });
    cleanup.push(() => issuer.close());
    let nats: TestNatsServer | undefined;
    if (wantNats) {
      const natsDir = path.join(dir, 'nats');
      await initNats(natsDir);
      nats = await startNatsServer({ dir: natsDir });
      const server = nats;
      cleanup.push(() => server.stop());
    }
    const config = resolveConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { kind: 'sqlite', path: path.join(dir, 'snowgate.db') },
      lease: o.lease ?? { ttl: '60s', maxClockSkew: '1s' },
      pools: o.pools ?? [
        {
          name: 'default',
          epoch: '2024-01-01T00:00:00Z',
          layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
        },
      ],
      issuers: [{ name: ISSUER_NAME, issuer: issuer.issuer, audience: ['snowgate'], algorithms: ['RS256'] }],
      admin: { bootstrapToken: ADMIN_TOKEN },
      ...(nats ? { nats: { dir: nats.dir, servers: [nats.url], ...o.natsConfig } } : {}),
      log: { level: o.logLevel ?? 'warn' },
    });
    const server = await startServer(config, { ...(o.clock ? { clock: o.clock } : {}) });
    cleanup.push(() => server.close());
    return {
      url: server.url,
      issuer: { url: issuer.issuer, name: ISSUER_NAME },
      adminToken: ADMIN_TOKEN,
      nats,
      close,
      async token(subject = subjects[0]!) {
        if (!subjects.includes(subject))
          throw new Error(`${subject} is not one of this registry's subjects: ${subjects.join(', ')}`);
        const r = await fetch(issuer.tokenEndpoint, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${subject}:${secretOf(subject)}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials',
        });
        const body = (await r.json()) as { access_token?: string };
        if (!body.access_token) throw new Error(`the test issuer gave no token for ${subject}: ${r.status}`);
        return body.access_token;
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
