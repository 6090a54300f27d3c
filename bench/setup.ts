/**
 * The registry wired as src/main.ts wires it, minus HTTP and OIDC (not what is measured): a
 * SqliteStore file, a NatsAuthority on keys from `initNats` whose replicated state lives in that
 * same store, its publisher connected to a real nats-server, and LeaseCredentials on top.
 */
import path from 'node:path';
import type { LeaseConfig, NatsConfig, PoolConfig } from '../src/config/types.js';
import { NatsAuthority } from '../src/nats/authority.js';
import { initNats } from '../src/nats/init.js';
import { KEK_FILE } from '../src/nats/keys.js';
import { loadNatsKeys, type NatsKeys } from '../src/nats/keys.js';
import { LeaseCredentials } from '../src/nats/lease-credentials.js';
import { Registry } from '../src/registry/registry.js';
import { DEFAULT_LAYOUT, parseNodeRanges } from '../src/snowflake/layout.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Cleanup } from './cleanup.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

/** A full 10-bit pool, as the default config has, so allocation scans what it would in production. */
export const POOL: PoolConfig = {
  name: 'default',
  epochMs: Date.parse('2024-01-01T00:00:00Z'),
  layout: DEFAULT_LAYOUT,
  nodes: parseNodeRanges('0-1023', DEFAULT_LAYOUT),
};

/** The config defaults (src/config/load.ts): 10m leases, 2s skew, 64 leases a principal. */
export const LEASE: LeaseConfig = {
  ttlMs: 600_000,
  maxClockSkewMs: 2000,
  maxPerPrincipal: 64,
  acquiresPerSecond: 0, // the bench measures the registry, not the limiter
  acquireBurst: 1,
};

export interface Bench {
  dbFile: string;
  store: SqliteStore;
  registry: Registry;
  keys: NatsKeys;
  nats: NatsServer;
  authority: NatsAuthority;
  credentials: LeaseCredentials;
  natsConfig: NatsConfig;
}

/** The config defaults for `nats`, on an init dir and one server. */
export function benchNatsConfig(dir: string, url: string): NatsConfig {
  return {
    dir,
    servers: [url],
    // No scheduled rotation mid-run: every variant signs with one key.
    signingKeyRotationMs: 0,
    credentialTtlMs: LEASE.ttlMs,
    keyEncryptionKeyFile: path.join(dir, KEK_FILE),
    permissions: { publish: ['ids.{pool}.{node}.>'], subscribe: ['ids.{pool}.>', '_INBOX.>'] },
  };
}

/** Builds everything under `root`; each part is registered with `cleanup` as soon as it exists. */
export async function setUp(root: string, cleanup: Cleanup): Promise<Bench> {
  const natsDir = path.join(root, 'nats');
  await initNats(natsDir);
  const keys = await loadNatsKeys(natsDir);
  const nats = await startNatsServer(natsDir);
  cleanup.defer(() => nats.stop());

  const dbFile = path.join(root, 'store', 'snowgate.db');
  const store = new SqliteStore(dbFile);
  cleanup.defer(() => store.close());
  // No onEnded: in the server a release also pushes a NATS revocation. That is the cost of ending
  // a lease, not of granting one, and it would hide the grant path this bench is about.
  const registry = new Registry({ store, pools: [POOL], lease: LEASE });

  const natsConfig = benchNatsConfig(natsDir, nats.url);
  const authority = new NatsAuthority({
    keys,
    store: store.natsState,
    servers: natsConfig.servers,
    signingKeyRotationMs: 0,
    maxJwtTtlMs: LEASE.ttlMs + LEASE.maxClockSkewMs,
    tickIntervalMs: 0,
    onError: (e) => console.error('NATS account update failed:', e.message),
  });
  cleanup.defer(() => authority.close());
  await authority.start();
  // The first account push is start-up work: it must not land inside a measured window.
  await authority.synced();
  const credentials = new LeaseCredentials(authority, natsConfig, (actor, action, detail) =>
    registry.record(actor, action, detail),
  );
  return { dbFile, store, registry, keys, nats, authority, credentials, natsConfig };
}
