/**
 * The uniqueness argument (DESIGN.md), simulated: hundreds of workers lease nodes from a real
 * Registry on a real store and mint with the real SnowflakeGenerator, under a simulated clock, while
 * the world misbehaves: processes pause past their lease, renewals are lost on the way there or
 * back, wall clocks run up to maxClockSkew ahead of or behind the registry's and step within it,
 * processes restart (superseding their old lease while the old process lives on a while), admins
 * revoke leases without telling the holder. Every minted ID is collected; the run counts duplicates.
 *
 * The knobs `floor` and `fencing` switch one safeguard off, to show the check can fail.
 */
import { ManualClock } from '../../src/clock.js';
import { PoolExhausted } from '../../src/errors.js';
import { Registry } from '../../src/registry/registry.js';
import type { Principal } from '../../src/registry/types.js';
import { GeneratorError, NotYet } from '../../src/snowflake/errors.js';
import { fenceDeadline, SnowflakeGenerator } from '../../src/snowflake/generator.js';
import type { Store } from '../../src/store/port.js';
import { pool } from './fixture.js';

export interface SimOptions {
  seed: number;
  workers: number;
  /** Nodes in the pool: fewer than workers, so nodes are handed on often and soon. */
  nodes: number;
  ticks: number;
  /** The generator refuses timestamps at or below the lease's notBefore. */
  floor: boolean;
  /** The generator stops at its self-fencing deadline, moved by each renewal it hears of. */
  fencing: boolean;
  store: (clock: ManualClock) => Store;
}

export interface SimResult {
  ids: number;
  duplicates: number;
  /** Grants, renewals, releases, supersessions, revocations and expiries the registry recorded. */
  leaseEvents: number;
  refusals: number;
}

const TICK_MS = 7;
const TTL_MS = 600;
const SKEW_MS = 100;
const MINT_PER_TICK = 6;
const EPOCH = Date.parse('2024-01-01T00:00:00Z');

/** mulberry32: a small seeded PRNG, so a run is the same run every time. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Holding {
  id: string;
  gen: SnowflakeGenerator;
  renewAt: number;
}

interface Worker {
  principal: Principal;
  instance: string;
  /** This machine's wall clock minus the registry's. */
  skew: number;
  lease?: Holding;
  pausedUntil: number;
  nextTry: number;
  monotonic: () => number;
  /** Processes that were replaced (a restart that superseded their lease) but still run a while. */
  zombies: { gen: SnowflakeGenerator; dieAt: number }[];
}

export async function simulate(o: SimOptions): Promise<SimResult> {
  const rnd = prng(o.seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const clock = new ManualClock(Date.parse('2025-06-01T00:00:00Z'));
  const store = o.store(clock);
  const p = pool('sim', `0-${o.nodes - 1}`);
  const registry = new Registry({
    store,
    pools: [p],
    lease: { ttlMs: TTL_MS, maxClockSkewMs: SKEW_MS, maxPerPrincipal: 4 },
  });
  const minted: bigint[] = [];
  let leaseEvents = 0;
  let refusals = 0;
  // Each process's monotonic clock creeps a little on every read, as a real one does, so a
  // generator that spins waiting for the next millisecond ends its wait instead of spinning forever.
  const monotonicClock = () => {
    let creep = 0;
    return () => clock.now() + (creep += 1e-3);
  };

  const generator = (w: Worker, lease: { node: number; notBefore: number }, fenceAt: number) =>
    new SnowflakeGenerator({
      layout: p.layout,
      epochMs: EPOCH,
      node: lease.node,
      notBefore: o.floor ? lease.notBefore : EPOCH,
      ...(o.fencing ? { fenceAt } : {}),
      maxBackwardStepMs: SKEW_MS,
      maxBlockMs: 1,
      clock: { now: () => clock.now() + w.skew },
      monotonic: w.monotonic,
    });

  // A holder told its clock is not past the floor yet waits that long before trying again.
  const resumeAt = new WeakMap<SnowflakeGenerator, number>();
  const mint = (gen: SnowflakeGenerator): boolean => {
    if ((resumeAt.get(gen) ?? -Infinity) > clock.now()) return true;
    for (let i = 0; i < MINT_PER_TICK; i++) {
      try {
        minted.push(gen.next());
      } catch (e) {
        if (!(e instanceof GeneratorError)) throw e;
        refusals++;
        if (e instanceof NotYet) resumeAt.set(gen, clock.now() + e.gapMs);
        return e.code !== 'fenced';
      }
    }
    return true;
  };

  const acquire = async (w: Worker) => {
    const sent = w.monotonic();
    try {
      const g = await registry.acquire({
        principal: w.principal,
        policy: { dynamic: true },
        pool: p.name,
        instance: w.instance,
      });
      leaseEvents += g.superseded ? 2 : 1;
      const fenceAt = fenceDeadline({
        sentAtMonotonic: sent,
        expiresAtMs: g.lease.expiresAt,
        registryNowMs: g.now,
        maxClockSkewMs: SKEW_MS,
      });
      w.lease = { id: g.lease.id, gen: generator(w, g.lease, fenceAt), renewAt: clock.now() + TTL_MS / 2 };
    } catch (e) {
      if (!(e instanceof PoolExhausted)) throw e;
      w.nextTry = clock.now() + between(20, 120);
    }
  };

  const renew = async (w: Worker, h: Holding) => {
    const sent = w.monotonic();
    const fate = rnd();
    h.renewAt = clock.now() + 100;
    if (fate < 0.05) return; // the request was lost
    try {
      const r = await registry.renew(h.id, w.principal);
      leaseEvents++;
      if (fate < 0.1) return; // the answer was lost
      if (o.fencing) {
        h.gen.fence(
          fenceDeadline({
            sentAtMonotonic: sent,
            expiresAtMs: r.lease.expiresAt,
            registryNowMs: r.now,
            maxClockSkewMs: SKEW_MS,
          }),
        );
      }
      h.renewAt = clock.now() + TTL_MS / 2;
    } catch {
      // 410: the lease is over (expired, revoked, superseded). Stop minting, lease again later.
      h.gen.fence();
      w.lease = undefined;
    }
  };

  const workers: Worker[] = Array.from({ length: o.workers }, (_, i) => ({
    principal: { issuer: 'sim', subject: `svc-${i % Math.ceil(o.workers / 3)}` },
    instance: `pod-${i}`,
    skew: between(-SKEW_MS, SKEW_MS),
    pausedUntil: 0,
    nextTry: 0,
    zombies: [],
    monotonic: monotonicClock(),
  }));

  for (let tick = 0; tick < o.ticks; tick++) {
    clock.advance(TICK_MS);
    const now = clock.now();
    if (tick % 140 === 0) leaseEvents += await registry.sweep();
    for (const w of workers) {
      w.zombies = w.zombies.filter((z) => z.dieAt > now && mint(z.gen));
      if (now < w.pausedUntil) continue;
      const h = w.lease;
      if (!h) {
        if (now >= w.nextTry) await acquire(w);
        continue;
      }
      // A process that wakes from a pause mints before its renewal loop runs: the fence must hold.
      mint(h.gen);
      const roll = rnd();
      if (roll < 0.002) {
        w.pausedUntil = now + between(TTL_MS / 2, 3 * TTL_MS);
      } else if (roll < 0.006) {
        h.gen.fence();
        await registry.release(h.id, w.principal);
        leaseEvents++;
        w.lease = undefined;
      } else if (roll < 0.009) {
        // A restart: the new process supersedes the lease, the old one lives on for a while.
        w.zombies.push({ gen: h.gen, dieAt: now + between(0, 2 * TTL_MS) });
        w.lease = undefined;
        w.monotonic = monotonicClock();
        await acquire(w);
      } else if (roll < 0.011) {
        const r = await registry.revoke(h.id, { kind: 'admin', name: 'sim' });
        if (r.endReason === 'revoked') leaseEvents++;
      } else if (roll < 0.012) {
        w.skew = between(-SKEW_MS, SKEW_MS); // a clock step, back or forth, within the bound
      } else if (now >= h.renewAt) {
        await renew(w, h);
      }
    }
  }
  await store.close();
  return { ids: minted.length, duplicates: countDuplicates(minted), leaseEvents, refusals };
}

function countDuplicates(ids: bigint[]): number {
  const sorted = BigUint64Array.from(ids).sort();
  let dups = 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) dups++;
  return dups;
}
