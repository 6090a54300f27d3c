/** What the HTTP bench's `serve` processes are started with: a free port and a config around a store. */
import net, { type AddressInfo } from 'node:net';
import type { BenchIssuer } from './issuer.js';

export const LAYOUTS: Record<number, { timestampBits: number; nodeBits: number; sequenceBits: number }> = {
  10: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
  // Not in the default run; BENCH_POOLS=14:0.1,14:0.9 measures the middle row of issue 8's table.
  14: { timestampBits: 41, nodeBits: 14, sequenceBits: 8 },
  16: { timestampBits: 41, nodeBits: 16, sequenceBits: 6 },
  22: { timestampBits: 39, nodeBits: 22, sequenceBits: 2 },
};

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((ok) => srv.close(ok));
  return port;
}

export function config(port: number, issuer: BenchIssuer, store: object, bits: number, extra: object = {}) {
  return {
    // Every load comes from this one address: the per-address limit would measure itself.
    server: { host: '127.0.0.1', port, perAddress: { requestsPerSecond: 0 } },
    store,
    lease: { ttl: '10m', maxClockSkew: '2s', maxPerPrincipal: 64, acquiresPerSecond: 0 },
    pools: [{ name: 'default', epoch: '2024-01-01T00:00:00Z', layout: LAYOUTS[bits] }],
    issuers: [
      { name: 'bench', issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: ['snowgate'], algorithms: ['RS256'] },
    ],
    log: { level: 'error' },
    ...extra,
  };
}
