/**
 * Revocations (issue 7 finding 2, issue 8): acquire+release cycles per second with NATS credentials
 * while the account carries no revocations and 5,000 of them (a release must cost the same), and how
 * many revocations the budget lets a 64 KiB `max_payload` server hold, with every push accepted.
 *
 * Wired as src/main.ts wires it (startNatsService: budget, coalesced revocations, catch-up) on a
 * SQLite store and a real nats-server, minus HTTP and OIDC.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { RevocationsFull } from '../src/errors.js';
import { initNats } from '../src/nats/init.js';
import { generateNkey } from '../src/nats/nkey.js';
import { startNatsService, type NatsService } from '../src/nats/service.js';
import { Registry } from '../src/registry/registry.js';
import type { Principal } from '../src/registry/types.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Cleanup } from './cleanup.js';
import { measureInterleaved, type MeasureOptions, type Operation } from './measure.js';
import { startNatsServer } from './nats-server.js';
import { percent, rateRow, table } from './report.js';
import { benchNatsConfig, LEASE, POOL } from './setup.js';

const REVOCATIONS = 5000;
const SMALL_MAX_PAYLOAD = 64 * 1024;
/**
 * The measured rigs must not fill their budget: every cycle adds a revocation, and a quiet machine
 * runs ~10,000 cycles in the window, which with 5,000 seeded would pass the ~10,000 that nats-server's
 * default 1 MiB `max_payload` holds. Both get 8 MiB (~80,000), so they measure cost, not refusals.
 */
const MEASURED_MAX_PAYLOAD = 8 * 1024 * 1024;
const policy = { dynamic: true };
const principal = (worker: number): Principal => ({ issuer: 'bench', subject: `workload-${worker}` });

interface Rig {
  registry: Registry;
  nats: NatsService;
}

async function rig(root: string, name: string, cleanup: Cleanup, maxPayload?: number): Promise<Rig> {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const natsDir = path.join(dir, 'nats');
  await initNats(natsDir);
  const server = await startNatsServer(natsDir, 10_000, maxPayload);
  cleanup.defer(() => server.stop());
  const store = new SqliteStore(path.join(dir, 'snowgate.db'));
  cleanup.defer(() => store.close());
  const ended: { fn?: NatsService['revoke'] } = {};
  const registry = new Registry({ store, pools: [POOL], lease: LEASE, onEnded: (e) => ended.fn?.(e) });
  const nats = await startNatsService({
    config: benchNatsConfig(natsDir, server.url),
    lease: LEASE,
    store,
    record: (actor, action, detail) => registry.record(actor, action, detail),
    countActive: async () => (await registry.occupancy()).reduce((n, o) => n + o.leased, 0),
    log: pino({ level: 'warn', base: { rig: name } }),
  });
  cleanup.defer(() => nats.close());
  ended.fn = (e) => nats.revoke(e);
  return { registry, nats };
}

/** What POST /v1/leases and DELETE /v1/leases/{id} do, minus HTTP: admit, grant, sign, release (revoke). */
function cycle(r: Rig): Operation {
  return async (worker) => {
    const p = principal(worker);
    const user = r.nats.credentials.newUser();
    const slot = r.nats.credentials.admit();
    const { lease } = await r.registry.acquire({
      principal: p,
      policy,
      pool: POOL.name,
      natsPublicKey: user.publicKey,
    });
    slot.granted();
    r.nats.credentials.issue(lease, user.seed);
    await r.registry.release(lease.id, p);
  };
}

/** Adds `n` revocations of users that never connect, as churn within one credential lifetime would. */
async function seedRevocations(r: Rig, n: number): Promise<void> {
  await r.nats.authority.revoke(
    Array.from({ length: n }, () => generateNkey('user').publicKey),
    { waitMs: 30_000 },
  );
}

/** Grants and releases until the budget refuses: how many revocations a server of `maxPayload` holds. */
async function budgetOf(
  r: Rig,
): Promise<{ revocations: number; jwtBytes: number; accepted: boolean; retryAfter: number }> {
  const op = cycle(r);
  for (let i = 0; i < 100_000; i++) {
    try {
      await op(i % 8);
    } catch (e) {
      if (!(e instanceof RevocationsFull)) throw e;
      // Every release so far must still be pushable: wait for the last update, then read the servers' answer.
      const confirmed = await r.nats.authority.revocations.settle(10_000);
      return {
        revocations: r.nats.authority.revocations.room().used,
        jwtBytes: r.nats.authority.revocations.facts().accountJwtBytes,
        accepted: confirmed === 'revoked' && r.nats.authority.ready(),
        retryAfter: e.retryAfterSeconds ?? 0,
      };
    }
  }
  throw new Error('the budget never refused a grant');
}

export async function revocationBench(
  root: string,
  cleanup: Cleanup,
  o: MeasureOptions,
  slices: number,
): Promise<void> {
  console.log(`\nrevocations: acquire+release cycles/s with NATS, at 0 and ${REVOCATIONS} revocations in the account`);
  const empty = await rig(root, 'rev-empty', cleanup, MEASURED_MAX_PAYLOAD);
  const loaded = await rig(root, 'rev-loaded', cleanup, MEASURED_MAX_PAYLOAD);
  await seedRevocations(loaded, REVOCATIONS);
  const [at0, atN] = await measureInterleaved([cycle(empty), cycle(loaded)], o, slices);
  const facts = loaded.nats.authority.revocations.facts();
  console.log(
    table([
      ['account', 'cycles/s', 'vs 0', 'measured'],
      rateRow('0 revocations', at0!, at0!),
      rateRow(`${REVOCATIONS} revocations (JWT ${(facts.accountJwtBytes / 1024).toFixed(0)} KiB)`, atN!, at0!),
    ]),
  );
  console.log(
    `at ${REVOCATIONS} / at 0 = ${percent(atN!.perSecond / at0!.perSecond)} (target ≥ 80%); ` +
      `one account update at ${REVOCATIONS} revocations took ${facts.lastUpdateMs} ms, shared by every end of its window`,
  );

  const small = await rig(root, 'rev-64k', cleanup, SMALL_MAX_PAYLOAD);
  const b = await budgetOf(small);
  console.log(
    `budget on a ${SMALL_MAX_PAYLOAD / 1024} KiB max_payload server: ${b.revocations} revocations ` +
      `(account JWT ${b.jwtBytes} bytes, ${percent(b.jwtBytes / SMALL_MAX_PAYLOAD)} of max_payload), ` +
      `servers ${b.accepted ? 'accepted every update' : 'REFUSED an update'}; then 503 revocations_full, Retry-After ${b.retryAfter} s`,
  );
}
