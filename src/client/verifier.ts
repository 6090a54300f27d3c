/**
 * LineageVerifier: what a subscriber can check of a stamped message (CONTRACT §6-7). The ID
 * decodes in its pool's layout; its node matches the subject where the permission template puts
 * `{node}`; per node, IDs only grow (the floor makes that hold across holders too); an ID seen
 * before is a duplicate (in a bounded window); a timestamp beyond maxClockSkew ahead of this
 * clock is suspect; `Nats-Msg-Id` agrees; with a registry, the lease that minted it, and the
 * signature by that lease's NATS user key.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { systemClock, type Clock } from '../clock.js';
import { decodeId, parseIdString } from '../snowflake/codec.js';
import { call } from './http.js';
import { IdWindow } from './id-window.js';
import { LineageCache } from './lineage-cache.js';
import { verifySignature, SIG_HEADER } from './signature.js';
import { ID_HEADER } from './subscription.js';
import { resolveToken, type TokenProvider } from './token.js';
import { checkLineageResponse, checkPoolsResponse, type LayoutJson, type LineageLeaseJson } from './wire.js';

export type CheckProblem =
  | 'missing_id'
  | 'malformed_id'
  | 'unknown_pool'
  | 'msg_id_mismatch'
  | 'node_mismatch'
  | 'future'
  | 'duplicate'
  | 'out_of_order'
  | 'no_lease'
  | 'lineage_unavailable'
  | 'bad_signature'
  | 'missing_signature';

export interface CheckResult {
  /** No problems. */
  ok: boolean;
  /** The Snowflake-Id, as sent. */
  id: string | undefined;
  pool: string | undefined;
  node: number | undefined;
  timestamp: Date | undefined;
  sequence: number | undefined;
  duplicate: boolean;
  outOfOrder: boolean;
  problems: CheckProblem[];
  /** The lease that held the node at that instant (null: none did); absent without a registry. */
  lease?: LineageLeaseJson | null;
  /** Snowflake-Sig: checked against the lease's key, or why not. */
  signature: 'valid' | 'invalid' | 'missing' | 'unchecked';
}

/** What the verifier reads of a message: a nats.js Msg fits. */
export interface CheckedMessage {
  subject: string;
  headers?: MsgHdrs;
  data?: Uint8Array;
}

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

interface PoolInfo {
  layout: LayoutJson;
  epochMs: number;
  /** The last ID per node, for order. */
  last: Map<number, bigint>;
}

const NO_DATA = new Uint8Array(0);

/** The positions of `{pool}` and `{node}` among the dot-separated tokens of a template. */
function positions(template: string | null): { pool: number; node: number } {
  const tokens = template?.split('.') ?? [];
  return { pool: tokens.indexOf('{pool}'), node: tokens.indexOf('{node}') };
}

/** The n-th dot-separated token of a subject, without splitting the whole of it. */
function token(subject: string, n: number): string | undefined {
  let start = 0;
  for (let i = 0; i < n; i++) {
    start = subject.indexOf('.', start) + 1;
    if (start === 0) return undefined;
  }
  const end = subject.indexOf('.', start);
  return subject.slice(start, end < 0 ? undefined : end);
}

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

  async check(msg: CheckedMessage): Promise<CheckResult> {
    let id: string | undefined;
    let msgId: string | undefined;
    let sig: string | undefined;
    if (msg.headers) {
      // One pass over the headers costs less than three lookups.
      for (const [k, v] of msg.headers) {
        if (k === ID_HEADER) id = v[0];
        else if (k === 'Nats-Msg-Id') msgId = v[0];
        else if (k === SIG_HEADER) sig = v[0];
      }
    }
    const r: CheckResult = {
      ok: false,
      id,
      pool: undefined,
      node: undefined,
      timestamp: undefined,
      sequence: undefined,
      duplicate: false,
      outOfOrder: false,
      problems: [],
      signature: sig === undefined ? 'missing' : 'unchecked',
    };
    if (id === undefined) return this.done(r, 'missing_id');
    const pools = this.pools ?? (await this.loadPools().catch(() => undefined));
    if (!pools) return this.done(r, 'lineage_unavailable');
    const named = this.at.pool >= 0 ? token(msg.subject, this.at.pool) : undefined;
    r.pool = named ?? this.o.pool ?? (pools.size === 1 ? pools.keys().next().value : 'default');
    const pool = pools.get(r.pool!);
    if (!pool) return this.done(r, 'unknown_pool');
    let big: bigint;
    let f;
    try {
      big = parseIdString(id);
      f = decodeId(pool.layout, pool.epochMs, big);
    } catch {
      return this.done(r, 'malformed_id');
    }
    r.node = f.node;
    r.sequence = f.sequence;
    r.timestamp = new Date(f.timestampMs);
    if (msgId !== undefined && msgId !== id) r.problems.push('msg_id_mismatch');
    if (this.at.node >= 0 && token(msg.subject, this.at.node) !== String(f.node)) r.problems.push('node_mismatch');
    if (f.timestampMs > this.o.clock.now() + this.o.maxClockSkewMs) r.problems.push('future');
    if (this.window.add(id)) {
      r.duplicate = true;
      r.problems.push('duplicate');
    } else {
      const last = pool.last.get(f.node);
      if (last !== undefined && big < last) {
        r.outOfOrder = true;
        r.problems.push('out_of_order');
      } else {
        pool.last.set(f.node, big);
      }
    }
    if (this.o.registry) await this.lineage(r, f.timestampMs, sig, msg);
    else if (this.o.signatures === 'require' && sig === undefined) r.problems.push('missing_signature');
    r.ok = r.problems.length === 0;
    return r;
  }

  private done(r: CheckResult, p: CheckProblem): CheckResult {
    r.problems.push(p);
    return r;
  }

  private async lineage(r: CheckResult, atMs: number, sig: string | undefined, msg: CheckedMessage): Promise<void> {
    let lease: LineageLeaseJson | null | undefined;
    try {
      lease = await this.leaseAt(r.pool!, r.node!, atMs, r.id!);
    } catch {
      r.problems.push('lineage_unavailable');
      return;
    }
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

function poolMap(pools: Record<string, LayoutJson>): Map<string, PoolInfo> {
  return new Map(
    Object.entries(pools).map(([name, layout]) => {
      const epochMs = Date.parse(layout.epoch);
      if (Number.isNaN(epochMs)) throw new TypeError(`pool ${name}: its layout's epoch is not a time`);
      return [name, { layout, epochMs, last: new Map() }];
    }),
  );
}
