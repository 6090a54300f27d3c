/**
 * LineageVerifier: what a subscriber can check of a stamped message (CONTRACT §6-7). The ID
 * decodes in its pool's layout; its node matches the subject where the permission template puts
 * `{node}`; per node, IDs only grow (the floor makes that hold across holders too); an ID seen
 * before is a duplicate (in a bounded window); a timestamp beyond maxClockSkew ahead of this
 * clock is suspect; `Nats-Msg-Id` agrees; with a registry, the lease that minted it, and the
 * signature by that lease's NATS user key.
 */
import { systemClock, type Clock } from '../clock.js';
import {
  readStamp,
  Result,
  type CheckedMessage,
  type CheckProblem,
  type CheckResult,
  type Stamp,
} from './check-result.js';
import { call } from './http.js';
import { IdWindow } from './id-window.js';
import { LineageCache } from './lineage-cache.js';
import { heldBy, poolMap, type PoolInfo } from './pool-info.js';
import { verifySignature } from './signature.js';
import { isDecimal, positions, tokenEnd, tokenIs, tokenStart } from './subject-tokens.js';
import { resolveToken, type TokenProvider } from './token.js';
import { checkLineageResponse, checkPoolsResponse, type LayoutJson, type LineageLeaseJson } from './wire.js';

export type { CheckedMessage, CheckProblem, CheckResult } from './check-result.js';

export interface VerifierOptions {
  /** Layouts by pool name. @default read from the registry's /v1/pools */
  pools?: Record<string, LayoutJson>;
  /** The registry, for lineage (who held the node) and pools. */
  registry?: string;
  token?: TokenProvider;
  /**
   * Where subjects name the pool and node, as in the publish permission template; null: not
   * checked. @default 'ids.{pool}.{node}.>'
   */
  subjectTemplate?: string | null;
  /** The pool of a message whose subject names none. @default the only pool, else 'default' */
  pool?: string;
  /** @default 2000 */
  maxClockSkewMs?: number;
  /** Distinct IDs remembered for duplicate detection. @default 100_000 */
  window?: number;
  /** `require`: an unsigned message is a problem; `ignore`: signatures are not checked. @default 'verify' */
  signatures?: 'verify' | 'require' | 'ignore';
  /** @default Date.now */
  clock?: Clock;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

const NO_DATA = new Uint8Array(0);
/** See LineageVerifier.isFuture. */
const CLOCK_READ_EVERY = 1024;

export class LineageVerifier {
  private readonly o: VerifierOptions & {
    maxClockSkewMs: number;
    clock: Clock;
    signatures: 'verify' | 'require' | 'ignore';
  };
  private pools: Map<string, PoolInfo> | undefined;
  private poolsLoading: Promise<Map<string, PoolInfo>> | undefined;
  private readonly at: { pool: number; node: number };
  private readonly window: IdWindow;
  private readonly cache = new LineageCache();
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Lineage lookups made, for metrics and the bench. */
  lookups = 0;
  /** The stamp of the message being checked, and whether inspect() left the check to go on. */
  private readonly stamp: Stamp = { id: undefined, msgId: undefined, sig: undefined };
  private continues = false;
  /** The pool of the message before; after inspect() goes on, this message's. */
  private recentPool: PoolInfo | undefined;
  /** The clock as isFuture() last read it, and the checks since. */
  private clockRead = -Infinity;
  private sinceClockRead = 0;

  constructor(o: VerifierOptions) {
    if (!o.pools && !o.registry) throw new TypeError('give the pools, or a registry to read them from');
    this.o = {
      ...o,
      maxClockSkewMs: o.maxClockSkewMs ?? 2000,
      clock: o.clock ?? systemClock,
      signatures: o.signatures ?? 'verify',
    };
    this.at = positions(o.subjectTemplate === undefined ? 'ids.{pool}.{node}.>' : o.subjectTemplate);
    this.window = new IdWindow(o.window ?? 100_000);
    if (o.pools) this.pools = poolMap(o.pools);
  }

  /** The pools' layouts, as given or as the registry names them. */
  async layouts(): Promise<Record<string, LayoutJson>> {
    const pools = this.pools ?? (await this.loadPools());
    return Object.fromEntries([...pools].map(([name, p]) => [name, p.layout]));
  }

  /**
   * Checks one message. Once the pools are known and the lease of the node is cached, nothing in
   * it waits: a steady stream is checked without a turn of the event loop per message.
   */
  check(msg: CheckedMessage): Promise<CheckResult> {
    try {
      const pools = this.pools;
      if (!pools) return this.checkLoadingPools(msg);
      const r = this.inspect(msg, pools);
      if (!this.continues) return Promise.resolve(r);
      if (!this.o.registry) {
        if (this.o.signatures === 'require' && this.stamp.sig === undefined) r.problems.push('missing_signature');
        r.ok = r.problems.length === 0;
        return Promise.resolve(r);
      }
      const pool = this.recentPool!; // inspect() went on: the message's pool
      const lease = this.cachedLease(pool, pool.timestampMs);
      const sig = this.stamp.sig;
      if (lease === undefined) {
        return this.lineage(r, pool.timestampMs, sig, msg).then(() => {
          r.ok = r.problems.length === 0;
          return r;
        });
      }
      this.judge(r, lease, sig, msg);
      r.ok = r.problems.length === 0;
      return Promise.resolve(r);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Before the pools are known: a message without an ID needs none; otherwise load them first. */
  private async checkLoadingPools(msg: CheckedMessage): Promise<CheckResult> {
    readStamp(msg.headers, this.stamp);
    if (this.stamp.id === undefined) return this.inspect(msg, new Map());
    const ok = await this.loadPools().then(
      () => true,
      () => false,
    );
    if (ok) return this.check(msg);
    const r = new Result(this.stamp.id, this.stamp.sig);
    r.problems.push('lineage_unavailable');
    return r;
  }

  /**
   * Everything but the lineage, in order: what the ID decodes to, whether the subject names its
   * node, the time, the duplicate window and the order per node. `continues` is false when a
   * problem stopped it before the lineage (no ID, an unknown pool, a malformed ID).
   */
  private inspect(msg: CheckedMessage, pools: Map<string, PoolInfo>): CheckResult {
    const stamp = this.stamp;
    readStamp(msg.headers, stamp);
    const id = stamp.id;
    const r = new Result(id, stamp.sig);
    this.continues = false;
    if (id === undefined) return this.done(r, 'missing_id');
    const subject = msg.subject;
    const at = this.at;
    let pool: PoolInfo | undefined;
    const poolAt = at.pool >= 0 ? tokenStart(subject, at.pool) : -1;
    // A token known to start where, so finding the node's counts on from there.
    let known = 0;
    let knownAt = 0;
    if (poolAt >= 0) {
      // Mostly the pool of the message before: compared in place, no token sliced off.
      const recent = this.recentPool;
      if (recent && tokenIs(subject, poolAt, recent.name)) pool = recent;
      else pool = pools.get((r.pool = subject.slice(poolAt, tokenEnd(subject, poolAt))));
      r.pool = pool?.name ?? r.pool;
      // The pool token is its name, then a dot (or the subject's end: then no token follows).
      if (pool && at.node > at.pool && poolAt + pool.name.length < subject.length) {
        known = at.pool + 1;
        knownAt = poolAt + pool.name.length + 1;
      }
    } else {
      r.pool = this.o.pool ?? (pools.size === 1 ? pools.keys().next().value : 'default');
      pool = pools.get(r.pool!);
    }
    if (!pool) return this.done(r, 'unknown_pool');
    this.recentPool = pool;
    if (!pool.decode(id)) return this.done(r, 'malformed_id');
    const { node, timestampMs, sequence } = pool;
    r.node = node;
    r.sequence = sequence;
    r.timestampMs = timestampMs;
    if (stamp.msgId !== undefined && stamp.msgId !== id) r.problems.push('msg_id_mismatch');
    if (at.node >= 0) {
      const nodeAt = tokenStart(subject, at.node, known, knownAt);
      if (nodeAt < 0 || !isDecimal(subject, nodeAt, tokenEnd(subject, nodeAt), node)) r.problems.push('node_mismatch');
    }
    if (this.isFuture(timestampMs)) r.problems.push('future');
    if (this.window.add(pool.high, pool.low)) {
      r.duplicate = true;
      r.problems.push('duplicate');
    } else {
      const last = pool.last.get(node);
      if (last === undefined) pool.last.set(node, { timestampMs, sequence });
      else if (timestampMs < last.timestampMs || (timestampMs === last.timestampMs && sequence < last.sequence)) {
        r.outOfOrder = true;
        r.problems.push('out_of_order');
      } else {
        last.timestampMs = timestampMs;
        last.sequence = sequence;
      }
    }
    this.continues = true;
    return r;
  }

  /**
   * Whether `timestampMs` is more than maxClockSkew ahead of this clock. A clock read can cost
   * more than the rest of a check (in a VM, often a system call), so the last reading answers
   * while the timestamp is within its bound: a clock that has moved on since only widens the
   * bound. One stepped back would narrow it, so the clock is also read every CLOCK_READ_EVERY
   * checks: at most that many messages are judged against a reading from before a step back.
   */
  private isFuture(timestampMs: number): boolean {
    const limit = timestampMs - this.o.maxClockSkewMs;
    if (limit <= this.clockRead && ++this.sinceClockRead < CLOCK_READ_EVERY) return false;
    this.clockRead = this.o.clock.now();
    this.sinceClockRead = 0;
    return limit > this.clockRead;
  }

  private done(r: CheckResult, p: CheckProblem): CheckResult {
    r.problems.push(p);
    return r;
  }

  /** The lease of the decoded node at `atMs` from what this verifier knows; undefined: ask. */
  private cachedLease(pool: PoolInfo, atMs: number): LineageLeaseJson | null | undefined {
    const node = pool.node;
    const held = pool.held.get(node);
    if (held && atMs > held.from && atMs <= held.to) return held.lease;
    const lease = this.cache.get(pool.name, node, atMs);
    if (lease) pool.held.set(node, heldBy(lease));
    return lease;
  }

  /** What the lineage says of the message: the lease, and its signature by the lease's key. */
  private judge(r: CheckResult, lease: LineageLeaseJson | null, sig: string | undefined, msg: CheckedMessage): void {
    r.lease = lease;
    if (!lease) r.problems.push('no_lease');
    if (sig === undefined) {
      if (this.o.signatures === 'require') r.problems.push('missing_signature');
      return;
    }
    if (this.o.signatures === 'ignore' || !lease?.natsPublicKey) return;
    r.signature = verifySignature(lease.natsPublicKey, sig, r.id!, msg.subject, msg.data ?? NO_DATA)
      ? 'valid'
      : 'invalid';
    if (r.signature === 'invalid') r.problems.push('bad_signature');
  }

  private async lineage(r: CheckResult, atMs: number, sig: string | undefined, msg: CheckedMessage): Promise<void> {
    let lease: LineageLeaseJson | null | undefined;
    try {
      lease = await this.leaseAt(r.pool!, r.node!, atMs, r.id!);
    } catch {
      r.problems.push('lineage_unavailable');
      return;
    }
    this.judge(r, lease, sig, msg);
  }

  private async leaseAt(pool: string, node: number, atMs: number, id: string): Promise<LineageLeaseJson | null> {
    const hit = this.cache.get(pool, node, atMs);
    if (hit !== undefined) return hit;
    // One lookup per node at a time: a burst for a fresh lease waits for the first answer.
    const key = `${pool}/${node}`;
    const pending = this.inflight.get(key);
    if (pending) {
      await pending.catch(() => undefined);
      const now = this.cache.get(pool, node, atMs);
      if (now !== undefined) return now;
    }
    const lookup = this.fetchLineage(pool, node, atMs, id);
    this.inflight.set(key, lookup);
    try {
      return await lookup;
    } finally {
      if (this.inflight.get(key) === lookup) this.inflight.delete(key);
    }
  }

  private async fetchLineage(pool: string, node: number, atMs: number, id: string): Promise<LineageLeaseJson | null> {
    this.lookups++;
    const raw = await call(this.o.registry!, 'GET', `/v1/lineage/${id}`, {
      token: await resolveToken(this.o.token ?? ''),
      query: { pool },
      fetch: this.o.fetch,
    });
    const lease = checkLineageResponse(raw).lease;
    this.cache.put(pool, node, atMs, lease);
    this.pools?.get(pool)?.held.delete(node); // the answer may narrow what it knew (a lease that ended early)
    return lease;
  }

  private loadPools(): Promise<Map<string, PoolInfo>> {
    this.poolsLoading ??= (async () => {
      const raw = await call(this.o.registry!, 'GET', '/v1/pools', {
        token: await resolveToken(this.o.token ?? ''),
        fetch: this.o.fetch,
      });
      this.pools = poolMap(Object.fromEntries(checkPoolsResponse(raw).map((p) => [p.name, p.layout])));
      return this.pools;
    })().catch((e: unknown) => {
      this.poolsLoading = undefined;
      throw e;
    });
    return this.poolsLoading;
  }
}
