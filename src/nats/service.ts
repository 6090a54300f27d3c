/**
 * The NATS side of a running registry, as the composition root wires it: credentials for leases,
 * the grant budget that keeps revocations within the servers' `max_payload`, live revocation of
 * ended leases (and catching up on any a crash kept from being saved), and readiness.
 */
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { ConfigError } from '../config/load.js';
import type { Config, NatsConfig } from '../config/types.js';
import type { ReadinessCheck } from '../http/ports.js';
import type { Actor, Lease, Principal } from '../registry/types.js';
import type { Store } from '../store/port.js';
import { NatsAuthority } from './authority.js';
import { startCallout, type Callout } from './callout.js';
import type { CalloutIdentity } from './callout-decision.js';
import { InvalidNatsKeys, loadNatsKeys } from './keys.js';
import { keysToRevoke, LeaseCredentials, rotationDetail } from './lease-credentials.js';
import { NatsMetrics } from './metrics.js';
import { GrantGate } from './revocation-budget.js';
import { RevocationQueueClosed } from './revocation-queue.js';
import { InvalidKek, loadKek, SealedSeedError } from './seed-seal.js';

/** How long start-up waits for the NATS servers to hold the account. */
const FIRST_PUSH_WAIT_MS = 5_000;

/** How often the NATS revocations are checked against the store's ended leases. */
const REVOCATION_CATCH_UP_MS = 30_000;

/** How often the grant budget recounts the active leases in the store (every replica's). */
const ACTIVE_RECOUNT_MS = 1_000;

/** How long an admin's revocation waits for the servers to confirm before answering `pending`. */
export const REVOKE_CONFIRM_MS = 2_000;

export interface NatsServiceDeps {
  config: NatsConfig;
  lease: Config['lease'];
  store: Store;
  /** Appends to the audit log. */
  record: (actor: Actor, action: string, detail: Record<string, unknown>) => Promise<void>;
  /** Active leases in every pool, as the store counts them now. */
  countActive: () => Promise<number>;
  log: Logger;
  /** Where the NATS metrics are registered, if anywhere. */
  metrics?: PromRegistry;
  /** What the auth callout needs of the rest (`nats.authCallout`). */
  callout?: {
    authenticate: (token: string) => Promise<CalloutIdentity>;
    getLease: (id: string) => Promise<Lease | undefined>;
    record: (leaseId: string, principal: Principal, userPublicKey: string, expiresAtMs: number) => Promise<void>;
    pools: string[];
  };
}

export interface NatsService {
  authority: NatsAuthority;
  credentials: LeaseCredentials;
  /** The registry's onEnded: revokes the users of leases that ended early. */
  revoke(ended: Lease[]): Promise<void>;
  ready: ReadinessCheck;
  /** With `nats.authCallout`: the callout is subscribed. */
  calloutReady?: ReadinessCheck;
  close(): Promise<void>;
}

export async function startNatsService(deps: NatsServiceDeps): Promise<NatsService> {
  const { config, lease, store, log } = deps;
  let keys;
  try {
    keys = await loadNatsKeys(config.dir);
  } catch (e) {
    if (e instanceof InvalidNatsKeys) throw new ConfigError(`nats.dir: ${e.message}`);
    throw e;
  }
  if (config.authCallout && !keys.authCallout) {
    throw new ConfigError(
      `nats.authCallout: ${config.dir} holds no callout keys; make a dir with \`snowgate init --auth-callout\``,
    );
  }
  let sealer;
  try {
    sealer = await loadKek(config.keyEncryptionKeyFile);
  } catch (e) {
    if (!(e instanceof InvalidKek)) throw e;
    // Never go on with seeds in the clear: a nats.dir from before seeds were sealed gets its KEK once.
    throw new ConfigError(
      `nats.keyEncryptionKeyFile: ${e.message}; a nats.dir made before signing-key seeds were sealed ` +
        `needs one: run \`snowgate init --out ${config.dir} --key-encryption-key\` and give every replica that file`,
    );
  }
  const system: Actor = { kind: 'system' };
  const authority = new NatsAuthority({
    keys,
    sealer,
    store: store.natsState,
    servers: config.servers,
    signingKeyRotationMs: config.signingKeyRotationMs,
    // A JWT ends with its lease; the margin covers a store clock a little ahead of this process's.
    maxJwtTtlMs: lease.ttlMs + lease.maxClockSkewMs,
    ...(config.credentialTtlMs < lease.ttlMs ? { credentialTtlMs: config.credentialTtlMs } : {}),
    onError: (err) => log.warn({ err }, 'NATS account update failed; retrying'),
    onRotated: (k) => {
      deps
        .record(system, 'keys.rotated', { ...rotationDetail(k), scheduled: true })
        .catch((err: unknown) => log.error({ err }, 'could not audit a scheduled key rotation'));
    },
  });
  try {
    await authority.start();
  } catch (e) {
    if (e instanceof SealedSeedError) throw new ConfigError(`nats.keyEncryptionKeyFile: ${e.message}`);
    throw e;
  }
  // Start ready when NATS is: the first push usually takes milliseconds. A server that is down
  // only delays the start; /readyz says so and the push goes on in the background.
  await authority.synced(FIRST_PUSH_WAIT_MS).catch((err: unknown) => log.warn({ err }, 'NATS not reachable yet'));

  const gate = new GrantGate({
    room: () => authority.revocations.room(),
    now: () => Date.now(),
    fullRetryMs: Math.min(config.credentialTtlMs, lease.ttlMs) + lease.maxClockSkewMs + 2000,
  });
  const metrics = deps.metrics ? new NatsMetrics(deps.metrics, authority, gate) : undefined;
  // Every callout user of an active lease may need a revocation too.
  const liveCallouts = async () => (config.authCallout ? store.liveCalloutUsers(await store.now()) : 0);
  const recount = async () => gate.setActive((await deps.countActive()) + (await liveCallouts()));
  /** The user keys the auth callout issued under these early-ended leases, whose JWTs may still be valid. */
  const calloutKeys = async (ended: Lease[]): Promise<string[]> => {
    if (!config.authCallout) return [];
    const early = ended.filter((l) => l.endReason !== 'expired').map((l) => l.id);
    return early.length === 0 ? [] : store.calloutUsersOf(early, await store.now());
  };
  const recountLogged = () => {
    recount().catch((err: unknown) => log.warn({ err }, 'could not count active leases for the NATS budget'));
  };
  await recount();
  const recountTimer = setInterval(recountLogged, ACTIVE_RECOUNT_MS);
  recountTimer.unref();

  // A crash (or a failed save) between ending a lease and saving its revocation would leave its
  // JWT valid until exp: the store's ended leases are the truth, so catch up from them now and
  // every little while. Only missing revocations are added; an unchanged state is not pushed.
  // Only leases whose JWTs may still be valid: an older one was pruned on purpose (and must not
  // come back to take room in the budget).
  const catchUp = async () => {
    const since = (await store.now()) - authority.revocations.horizonMs() - 1000;
    const ended = await store.endedEarlySince(since);
    await authority.revoke([...keysToRevoke(ended), ...(await calloutKeys(ended))], { onlyMissing: true });
  };
  const catchUpLogged = () => {
    catchUp().catch((err: unknown) => log.error({ err }, 'NATS revocations not yet pushed; retrying'));
  };
  catchUpLogged();
  const catchUpTimer = setInterval(catchUpLogged, REVOCATION_CATCH_UP_MS);
  catchUpTimer.unref();

  // Synchronous up to the queueing, so the lease's revocation is queued before its answer goes out.
  const revoke = async (ended: Lease[]) => {
    // Expired leases dropped out of the store's count already; early ends still count until recounted.
    gate.ended(keysToRevoke(ended).length);
    // An admin waits to hear whether the servers confirmed; a release or supersession does not.
    const waitMs = ended.some((l) => l.endReason === 'revoked') ? REVOKE_CONFIRM_MS : 0;
    const keys = keysToRevoke(ended);
    const own =
      keys.length === 0
        ? undefined
        : authority
            .revoke(keys, { waitMs })
            .catch((err: unknown) =>
              err instanceof RevocationQueueClosed
                ? log.warn('shutting down with NATS revocations unsaved: the next start pushes them from the store')
                : log.error({ err }, 'NATS revocation not yet saved; retrying'),
            );
    // After the lease's own key is queued: the callout's users of the lease need a store read first.
    const callout = calloutKeys(ended).then(async (more) => {
      if (more.length === 0) return undefined;
      gate.ended(more.length);
      return authority.revoke(more, { waitMs });
    });
    const [status] = await Promise.all([
      own,
      callout.catch((err: unknown) => {
        // The catch-up finds them again from the store within REVOCATION_CATCH_UP_MS.
        log.error({ err }, 'NATS revocation of callout users not yet saved; retrying');
        return 'pending' as const;
      }),
    ]);
    if (keys.length > 0) metrics?.revocations.inc({ status: status ?? 'pending' }, keys.length);
  };
  const ready: ReadinessCheck = {
    name: 'nats',
    check: async () => {
      if (!authority.ready())
        throw new Error('the NATS servers are unreachable or do not hold the current account yet');
    },
  };
  let callout: Callout | undefined;
  if (config.authCallout && keys.authCallout && deps.callout) {
    callout = await startCallout({
      keys: keys.authCallout,
      config: { ...config, authCallout: config.authCallout },
      pools: deps.callout.pools,
      authenticate: deps.callout.authenticate,
      getLease: deps.callout.getLease,
      record: deps.callout.record,
      authority,
      admit: () => gate.admit(),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      onError: (err) => log.warn({ err }, 'auth callout'),
    });
  }
  const close = async () => {
    clearInterval(catchUpTimer);
    clearInterval(recountTimer);
    await callout?.close();
    await authority.close();
  };
  return {
    authority,
    credentials: new LeaseCredentials(authority, config, deps.record, gate),
    revoke,
    ready,
    ...(callout ? { calloutReady: callout.ready } : {}),
    close,
  };
}
