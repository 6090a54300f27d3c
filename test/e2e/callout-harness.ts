// A registry with the auth callout on, against nats-server 2.10 (issue 10): tokens from a jose test
// issuer (so expired and unbound ones can be minted), NATS keys from `init --auth-callout`.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { nativeJwtAuthenticator, parseCreds } from '../../src/client/native-auth.js';
import { resolveConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { initNats } from '../../src/nats/init.js';
import { SENTINEL_CREDS_FILE } from '../../src/nats/keys.js';
import { startNatsServer, type TestNatsServer } from '../../src/testing/nats-server.js';
import { startTestIssuer, type TestIssuer } from '../identity/test-issuer.js';
import { tempDir } from '../nats/harness.js';
import { natsServer210 } from '../nats/nats210.js';

/** The claim every accepted token must carry (the issuer's bound claims). */
export const BOUND = { team: 'ids' };

export interface CalloutRegistry {
  url: string;
  natsUrl: string;
  issuer: TestIssuer;
  sentinelCreds: string;
  nats: TestNatsServer;
  server: RunningServer;
  /** A valid token of `sub`. */
  token(sub?: string, opts?: { expIn?: number; claims?: Record<string, unknown> }): Promise<string>;
  /** A lease over HTTP, as any client gets one. */
  acquire(token: string, instance?: string): Promise<{ id: string; node: number }>;
  /** Sentinel creds plus this connect token; no reconnect, so a refusal or a drop is final. */
  connect(token: string, opts?: { timeoutMs?: number }): Promise<NatsConnection>;
  close(): Promise<void>;
}

export async function startCalloutRegistry(
  o: { lease?: Record<string, unknown>; readerTtl?: string } = {},
): Promise<CalloutRegistry> {
  const dir = tempDir('callout-e2e').dir;
  const cleanup: Array<() => Promise<unknown>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
  };
  try {
    const issuer = await startTestIssuer();
    cleanup.push(() => issuer.close());
    const natsDir = path.join(dir, 'nats');
    await initNats(natsDir, { authCallout: true });
    const nats = await startNatsServer({ dir: natsDir, bin: natsServer210() });
    cleanup.push(() => nats.stop());
    const config = resolveConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { kind: 'sqlite', path: path.join(dir, 'snowgate.db') },
      lease: o.lease ?? { ttl: '60s', maxClockSkew: '1s', acquiresPerSecond: 0 },
      pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z' }],
      issuers: [
        {
          name: 'jose',
          issuer: issuer.issuer,
          jwksUri: issuer.jwksUri,
          audience: ['snowgate'],
          algorithms: ['RS256'],
          claims: BOUND,
        },
      ],
      admin: { bootstrapToken: 'callout-admin-token' },
      nats: {
        dir: natsDir,
        servers: [nats.url],
        authCallout: true,
        ...(o.readerTtl ? { readerTtl: o.readerTtl } : {}),
      },
      log: { level: 'warn' },
    });
    const server = await startServer(config);
    cleanup.push(() => server.close());
    const sentinelCreds = readFileSync(path.join(natsDir, SENTINEL_CREDS_FILE), 'utf8');
    const sentinel = parseCreds(sentinelCreds);
    // Node's Ed25519 for the nonce: nats.js' pure-JS signing on this same event loop would delay
    // the registry's answers to a burst of connects past the servers' 2 s callout wait.
    const authenticator = nativeJwtAuthenticator(sentinel.jwt, sentinel.seed);
    return {
      url: server.url,
      natsUrl: nats.url,
      issuer,
      sentinelCreds,
      nats,
      server,
      token: (sub = 'svc-a', t = {}) => issuer.mint({ sub, expIn: t.expIn ?? 300, claims: { ...BOUND, ...t.claims } }),
      async acquire(token, instance) {
        const r = await fetch(`${server.url}/v1/leases`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ pool: 'default', ...(instance ? { instance } : {}) }),
        });
        const body = (await r.json()) as { lease?: { id: string; node: number } };
        if (r.status !== 201 || !body.lease) throw new Error(`acquire: ${r.status} ${JSON.stringify(body)}`);
        return { id: body.lease.id, node: body.lease.node };
      },
      connect: (token, c = {}) =>
        connect({
          servers: nats.url,
          authenticator,
          token,
          reconnect: false,
          timeout: c.timeoutMs ?? 5000,
        }),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
