// A real nats-server in operator mode, from the config `initNats` writes, on a free loopback port.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { after, before } from 'node:test';
import { NatsAuthority, type NatsAuthorityOptions } from '../../src/nats/authority.js';
import { initNats } from '../../src/nats/init.js';
import { loadNatsKeys, type NatsKeys } from '../../src/nats/keys.js';
import { MemoryNatsStateStore } from '../../src/nats/state.js';
import { startNatsServer } from '../../src/testing/nats-server.js';

export { sleep };

import { freePort, tempDir, waitFor } from '../support.js';

export { freePort, tempDir, waitFor };

export interface TestNats {
  dir: string;
  keys: NatsKeys;
  url: string;
  port: number;
  output(): string;
  /** Stops the server, keeping its dir (the resolver's JWTs) for a restart. */
  stop(): Promise<void>;
  /** Starts it again on the same port and dir. */
  restart(): Promise<void>;
  /** Stops it and removes the dir. */
  dispose(): Promise<void>;
}

export interface StartNatsOptions {
  port?: number;
  /** An init dir to reuse; a fresh one by default. */
  dir?: string;
  /** nats-server's `max_payload`, set in a config that includes the one `initNats` wrote. */
  maxPayload?: number;
}

/** `initNats` into a fresh dir, then nats-server on its config (startNatsServer: a port of its choosing). */
export async function startNats(opts: StartNatsOptions = {}): Promise<TestNats> {
  const dir = opts.dir ?? tempDir('srv').dir;
  if (!opts.dir) await initNats(dir);
  const keys = await loadNatsKeys(dir);
  let config: string | undefined;
  if (opts.maxPayload !== undefined) {
    config = path.join(dir, 'test-server.conf');
    writeFileSync(config, `include "nats-server.conf"\nmax_payload: ${opts.maxPayload}\n`);
  }
  const server = await startNatsServer({
    dir,
    ...(config ? { config } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  });
  return {
    dir,
    keys,
    url: server.url,
    port: server.port,
    output: () => server.output(),
    stop: () => server.stop(),
    restart: () => server.restart(),
    dispose: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const te = new TextEncoder();

/** A client that gives up at once: tests want to see auth failures and server disconnects. */
export function connectUser(url: string, jwt: string, seed: string): Promise<NatsConnection> {
  return connect({ servers: url, authenticator: jwtAuthenticator(jwt, te.encode(seed)), reconnect: false });
}

export function connectCreds(url: string, creds: string): Promise<NatsConnection> {
  return connect({ servers: url, authenticator: credsAuthenticator(te.encode(creds)), reconnect: false });
}

/** 'closed' when the server dropped the connection within `ms`, else 'open'. */
export async function droppedWithin(nc: NatsConnection, ms: number): Promise<'closed' | 'open'> {
  return Promise.race([nc.closed().then(() => 'closed' as const), sleep(ms).then(() => 'open' as const)]);
}

/**
 * A nats-server for a describe block, and started authorities on it (closed after): `authority()`
 * takes overrides of test defaults (in-memory state, no timers, no rotation).
 */
export function authoritiesOnServer(defaults: Partial<NatsAuthorityOptions> = {}): {
  server: () => TestNats;
  authority: (over?: Partial<NatsAuthorityOptions>) => Promise<NatsAuthority>;
} {
  let nats: TestNats | undefined;
  const running: NatsAuthority[] = [];
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    for (const a of running) await a.close();
    await nats?.dispose();
  });
  const server = (): TestNats => {
    if (!nats) throw new Error('the test nats-server has not started');
    return nats;
  };
  return {
    server,
    authority: async (over = {}) => {
      const a = new NatsAuthority({
        keys: server().keys,
        servers: [server().url],
        signingKeyRotationMs: 0,
        maxJwtTtlMs: 60_000,
        tickIntervalMs: 0,
        store: new MemoryNatsStateStore(),
        ...defaults,
        ...over,
      });
      running.push(a);
      await a.start();
      await a.synced();
      return a;
    },
  };
}
