/**
 * `npm run bench -- callout`: NATS auth callout authorizations per second against nats-server 2.10
 * (a token-only connect and close: the server asks the registry, which verifies the token, signs a
 * user JWT and answers), beside the HTTP grant rate (POST /v1/leases and DELETE) and a plain
 * creds-file connect in the same run, with connect latencies. The client, the registry and its
 * responder share this process's event loop; nats-server has its own.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { nativeJwtAuthenticator } from '../src/client/native-auth.js';
import { resolveConfig } from '../src/config/load.js';
import { startDevIssuer } from '../src/identity/dev-issuer.js';
import { startServer } from '../src/main.js';
import { initNats } from '../src/nats/init.js';
import { loadNatsKeys } from '../src/nats/keys.js';
import { startNatsServer } from '../src/testing/nats-server.js';
import type { Cleanup } from './cleanup.js';
import { measureInterleaved, type MeasureOptions, type Operation, type Rate } from './measure.js';
import { percent, perSecond, table } from './report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Wraps an operation to keep each one's latency (ms). */
function timedOp(op: Operation, into: number[]): Operation {
  return async (w) => {
    const t0 = performance.now();
    const r = await op(w);
    into.push(performance.now() - t0);
    return r;
  };
}

function quantile(xs: number[], q: number): string {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(1);
}

export async function calloutBench(root: string, cleanup: Cleanup, o: MeasureOptions, slices: number): Promise<void> {
  const bin = execFileSync('bash', [path.join(ROOT, '.ci/nats-server-210.sh')], { encoding: 'utf8' }).trim();
  const natsDir = path.join(root, 'callout-nats');
  await initNats(natsDir, { authCallout: true });
  const keys = await loadNatsKeys(natsDir);
  const nats = await startNatsServer({ dir: natsDir, bin });
  cleanup.defer(() => nats.stop());
  const secret = 'bench-callout-secret-for-this-run';
  const issuer = await startDevIssuer({ clients: [{ clientId: 'bench', clientSecret: secret }], onError: () => {} });
  cleanup.defer(() => issuer.close());
  const config = resolveConfig({
    server: { host: '127.0.0.1', port: 0, perAddress: { requestsPerSecond: 0 } },
    store: { kind: 'sqlite', path: path.join(root, 'callout.db') },
    lease: { ttl: '60s', maxClockSkew: '1s', acquiresPerSecond: 0, maxPerPrincipal: 1000 },
    pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z' }],
    issuers: [{ name: 'dev', issuer: issuer.issuer, audience: ['snowgate'], algorithms: ['RS256'] }],
    admin: { bootstrapToken: 'bench-callout-admin-token' },
    nats: { dir: natsDir, servers: [nats.url], authCallout: true },
    log: { level: 'warn' },
  });
  const server = await startServer(config);
  cleanup.defer(() => server.close());
  const r = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`bench:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const token = ((await r.json()) as { access_token: string }).access_token;
  const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const c = keys.authCallout!;
  const sentinel = nativeJwtAuthenticator(c.sentinel.jwt, c.sentinel.seed);
  const open = async (nc: NatsConnection) => {
    await nc.flush();
    await nc.close();
  };

  const grant: Operation = async (w) => {
    const res = await fetch(`${server.url}/v1/leases`, {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ pool: 'default', instance: `bench-${w}` }),
    });
    const body = (await res.json()) as { lease?: { id: string } };
    if (res.status !== 201 || !body.lease) throw new Error(`grant: ${res.status} ${JSON.stringify(body)}`);
    const del = await fetch(`${server.url}/v1/leases/${body.lease.id}`, {
      method: 'DELETE',
      headers: { authorization: bearer.authorization },
    });
    if (del.status !== 204) throw new Error(`release: ${del.status}`);
  };
  const callout: Operation = async () =>
    open(await connect({ servers: nats.url, authenticator: sentinel, token, reconnect: false }));
  // A plain connect with a lease's own creds: what the callout adds to a connect, by difference.
  const held = await fetch(`${server.url}/v1/leases`, {
    method: 'POST',
    headers: bearer,
    body: JSON.stringify({ pool: 'default', instance: 'bench-creds' }),
  });
  const lease = (await held.json()) as { nats: { jwt: string; seed: string } };
  const credsAuth = nativeJwtAuthenticator(lease.nats.jwt, lease.nats.seed);
  const creds: Operation = async () =>
    open(await connect({ servers: nats.url, authenticator: credsAuth, reconnect: false }));

  const lat = { grant: [] as number[], callout: [] as number[], creds: [] as number[] };
  const [g, a, p] = (await measureInterleaved(
    [timedOp(grant, lat.grant), timedOp(callout, lat.callout), timedOp(creds, lat.creds)],
    o,
    slices,
  )) as [Rate, Rate, Rate];
  const row = (name: string, x: Rate, l: number[]) => [
    name,
    perSecond(x),
    percent(x.perSecond / g.perSecond),
    quantile(l, 0.5),
    quantile(l, 0.99),
    `${x.ops} in ${x.seconds.toFixed(2)} s`,
  ];
  console.log(`\nsnowgate bench callout: nats-server ${nats.output().match(/Version:\s+(\S+)/)?.[1] ?? '?'}`);
  console.log(
    `${o.inFlight} in flight; ${o.durationMs / 1000} s each after warm-up, in ${slices} alternating slices\n`,
  );
  console.log(
    table([
      ['operation', 'per s', 'vs HTTP grant', 'p50 ms', 'p99 ms', 'measured'],
      row('HTTP grant (POST /v1/leases + DELETE)', g, lat.grant),
      row('callout authorization (token connect + close)', a, lat.callout),
      row('creds-file connect + close (no callout)', p, lat.creds),
    ]),
  );
  console.log(
    `\ncallout authorizations/s / HTTP grants/s = ${(a.perSecond / g.perSecond).toFixed(2)}; ` +
      `p99 connect: callout ${quantile(lat.callout, 0.99)} ms vs creds file ${quantile(lat.creds, 0.99)} ms`,
  );
}
