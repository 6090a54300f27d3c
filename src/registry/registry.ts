/**
 * The lease rules (CONTRACT §4, DESIGN "The uniqueness argument"): acquire, renew, release, revoke
 * and supersede. Pins are in pins.ts; the read side (pools, listings, lineage, occupancy) in
 * reads.ts. Every change is one store transaction with its audit entry; times come from the
 * store's clock. Knows nothing of HTTP, SQL or NATS: ended leases are reported to `onEnded` after
 * their transaction committed, so credentials can be revoked.
 */
import type { LeaseConfig, PoolConfig } from '../config/types.js';
import {
  Forbidden,
  InvalidRequest,
  LeaseGone,
  NodeConflict,
  NotFound,
  PoolExhausted,
  PrincipalLimit,
} from '../errors.js';
import type { Store, StoreTx } from '../store/port.js';
import { allocate, samePrincipal } from './allocation.js';
import { newLeaseId } from './lease-id.js';
import { Pins } from './pins.js';
import { RegistryReads } from './reads.js';
import { actorName, type Actor, type EndReason, type Lease, type Principal } from './types.js';

/** What an issuer allows its principals. */
export interface IssuerPolicy {
  /** Pools its principals may lease in; undefined: all. */
  pools?: string[];
  /** false: pinned nodes only. */
  dynamic: boolean;
  /** Most distinct principals of the issuer holding leases in one pool (a misconfigured public issuer's strangers). */
  maxPrincipals?: number;
}

export interface AcquireRequest {
  principal: Principal;
  policy: IssuerPolicy;
  pool: string;
  instance?: string;
  node?: number;
  natsPublicKey?: string;
}

export interface Grant {
  lease: Lease;
  /** The store's clock at grant. */
  now: number;
  superseded?: Lease;
}

export interface RegistryDeps {
  store: Store;
  pools: PoolConfig[];
  lease: Pick<LeaseConfig, 'ttlMs' | 'maxClockSkewMs' | 'maxPerPrincipal'>;
  /** Called after the transaction that ended these leases committed, with their end recorded. */
  onEnded?: (ended: Lease[]) => void | Promise<void>;
}

/** Where a lease's minted IDs may reach: the release instant for a release, else its expiry. */
export function floorEndOf(lease: Lease, endedAt: number, reason: EndReason): number {
  return reason === 'released' ? endedAt : lease.expiresAt;
}

/** Expired leases a grant ends on its way (the sweeper ends the rest every second). */
const EXPIRED_PER_GRANT = 16;

export class Registry extends RegistryReads {
  /** Admins' standing assignments of nodes to principals. */
  readonly pins: Pins;

  constructor(private readonly deps: RegistryDeps) {
    super(deps.store, deps.pools);
    this.pins = new Pins(deps.store, (name) => this.pool(name));
  }

  /** A principal new to the pool is refused once its issuer has maxPrincipals holding leases there. */
  private async checkPrincipalCap(tx: StoreTx, req: AcquireRequest): Promise<void> {
    const cap = req.policy.maxPrincipals;
    if (cap === undefined) return;
    const { issuer } = req.principal;
    const holders = await tx.holders(req.pool, issuer);
    if (holders >= cap) {
      throw new PrincipalLimit(
        `issuer ${issuer} already has ${holders} principals holding leases in pool ${req.pool} (its maxPrincipals)`,
      );
    }
  }

  async acquire(req: AcquireRequest): Promise<Grant> {
    const pool = this.pool(req.pool);
    if (req.policy.pools && !req.policy.pools.includes(pool.name)) {
      throw new Forbidden(`your issuer may not lease in pool ${pool.name}`);
    }
    const { ttlMs, maxClockSkewMs, maxPerPrincipal } = this.deps.lease;
    const { grant, ended } = await this.deps.store.transaction(
      async (tx) => {
        const ended: Lease[] = [];
        const now = tx.now();
        // Three reads that do not depend on each other, started together and said up front (the
        // opening below), so PostgreSQL sends them with BEGIN. Leases whose expiry passed unnoticed
        // end first, a few per grant (the sweeper ends the rest), so their nodes are free; all of
        // them when the pool looks exhausted.
        const [keyUsed, due, held] = await Promise.all([
          req.natsPublicKey !== undefined && tx.natsKeyUsed(req.natsPublicKey),
          tx.expiredIn(pool.name, now, EXPIRED_PER_GRANT),
          tx.activeLeasesOf(req.principal, pool.name),
        ]);
        if (keyUsed) {
          // Revoking that lease's user would cut this one off too.
          throw new InvalidRequest('natsPublicKey: already used by a lease; send a fresh key for each lease');
        }
        for (const l of due) ended.push(await this.expire(tx, l));
        const mine: Lease[] = [];
        for (const l of held) {
          // One of the principal's own may be among those just ended.
          if (l.expiresAt <= now) {
            if (!due.some((d) => d.id === l.id)) ended.push(await this.expire(tx, l));
          } else mine.push(l);
        }
        const superseded = req.instance === undefined ? undefined : mine.find((l) => l.instance === req.instance);
        if (mine.length - (superseded ? 1 : 0) >= maxPerPrincipal) {
          throw new PrincipalLimit(`you already hold ${mine.length} leases in pool ${pool.name} (the limit)`);
        }
        if (mine.length === 0) await this.checkPrincipalCap(tx, req);
        if (req.node !== undefined) {
          const held = await tx.activeLeaseOn(pool.name, req.node);
          if (held && held.expiresAt <= now) ended.push(await this.expire(tx, held));
          // Checked before ending the superseded lease, so a refused request leaves it alone.
          else if (superseded && held && held.id !== superseded.id)
            throw new NodeConflict(`node ${req.node} is leased`);
        }
        if (superseded) {
          ended.push(await this.end(tx, superseded, 'superseded', { kind: 'principal', principal: req.principal }, {}));
        }
        const input = {
          pool,
          principal: req.principal,
          now,
          maxClockSkewMs,
          dynamic: req.policy.dynamic,
          ...(req.node !== undefined ? { requestedNode: req.node } : {}),
        };
        const a = await allocate(tx, input).catch(async (e: unknown) => {
          if (!(e instanceof PoolExhausted)) throw e;
          let freed = false;
          for (let due; (due = await tx.expiredIn(pool.name, now, 500)).length > 0; freed = true) {
            for (const l of due) ended.push(await this.expire(tx, l));
          }
          if (!freed) throw e;
          return allocate(tx, input);
        });
        const lease: Lease = {
          id: newLeaseId(now),
          pool: pool.name,
          node: a.node,
          generation: a.generation,
          principal: req.principal,
          ...(req.instance !== undefined ? { instance: req.instance } : {}),
          issuedAt: now,
          expiresAt: now + ttlMs,
          notBefore: a.notBefore,
          ...(req.natsPublicKey !== undefined ? { natsPublicKey: req.natsPublicKey } : {}),
        };
        await tx.insertLease(lease);
        await tx.audit({
          at: now,
          actor: actorName({ kind: 'principal', principal: req.principal }),
          action: 'lease.granted',
          pool: pool.name,
          node: a.node,
          leaseId: lease.id,
          detail: {
            generation: a.generation,
            notBefore: new Date(a.notBefore).toISOString(),
            ...(req.instance !== undefined ? { instance: req.instance } : {}),
            ...(superseded ? { supersedes: superseded.id } : {}),
          },
        });
        return { grant: { lease, now, ...(superseded ? { superseded } : {}) }, ended };
      },
      {
        grant: {
          principal: req.principal,
          pool: pool.name,
          ...(req.natsPublicKey !== undefined ? { natsPublicKey: req.natsPublicKey } : {}),
          expired: EXPIRED_PER_GRANT,
        },
      },
    );
    void this.reportEnded(ended);
    return grant;
  }

  /** Pushes expiry forward by one TTL. Only the lease's principal; an ended lease is gone (410). */
  async renew(id: string, principal: Principal): Promise<{ lease: Lease; now: number }> {
    const r = await this.deps.store.transaction<{ lease: Lease; now: number } | { expired: Lease }>(
      async (tx) => {
        const now = tx.now();
        const lease = await this.owned(tx, id, principal);
        if (lease.endedAt !== undefined) throw new LeaseGone(`lease ${id} ended (${lease.endReason})`, lease.endReason);
        // An expiry noticed here is recorded, so the answer is a 410 and the end is committed.
        if (lease.expiresAt <= now) return { expired: await this.end(tx, lease, 'expired', { kind: 'system' }, {}) };
        const expiresAt = now + this.deps.lease.ttlMs;
        await tx.setExpiry(id, expiresAt);
        return { lease: { ...lease, expiresAt }, now };
      },
      { lease: id },
    );
    if ('expired' in r) {
      void this.reportEnded([r.expired]);
      throw new LeaseGone(`lease ${id} expired`, 'expired');
    }
    return r;
  }

  /**
   * Records a user key the NATS auth callout is about to sign a JWT for under this lease, in one
   * unit with the check that the lease is the principal's and active (the lease row is locked):
   * an end committed after this finds the key and revokes it too; one committed before refuses it.
   */
  async recordCalloutUser(id: string, principal: Principal, publicKey: string, expiresAt: number): Promise<void> {
    await this.deps.store.transaction(
      async (tx) => {
        const lease = await this.owned(tx, id, principal);
        if (lease.endedAt !== undefined || lease.expiresAt <= tx.now()) {
          throw new LeaseGone(`lease ${id} has ended`, lease.endReason ?? 'expired');
        }
        await tx.addCalloutUser(id, publicKey, expiresAt);
      },
      { lease: id },
    );
  }

  /** Ends the caller's own lease now, and returns it ended. Idempotent: an ended lease stays ended. */
  async release(id: string, principal: Principal): Promise<Lease> {
    const { lease, ended } = await this.deps.store.transaction(
      async (tx) => {
        const lease = await this.owned(tx, id, principal);
        if (lease.endedAt !== undefined) return { lease, ended: false };
        const now = tx.now();
        const reason = lease.expiresAt <= now ? 'expired' : 'released';
        const actor: Actor = reason === 'expired' ? { kind: 'system' } : { kind: 'principal', principal };
        return { lease: await this.end(tx, lease, reason, actor, {}), ended: true };
      },
      { lease: id },
    );
    if (ended) void this.reportEnded([lease]);
    return lease;
  }

  /** An admin ends one lease now; the ended lease is returned. */
  async revoke(id: string, actor: Actor, reason?: string): Promise<Lease> {
    const result = await this.deps.store.transaction(
      async (tx) => {
        const lease = await tx.getLease(id);
        if (!lease) throw new NotFound(`no lease ${id}`);
        if (lease.endedAt !== undefined) return { lease, changed: false };
        const now = tx.now();
        const endReason: EndReason = lease.expiresAt <= now ? 'expired' : 'revoked';
        const ended = await this.end(tx, lease, endReason, actor, reason !== undefined ? { reason } : {});
        return { lease: ended, changed: true };
      },
      { lease: id },
    );
    if (result.changed) await this.reportEnded([result.lease]);
    return result.lease;
  }

  /** An admin ends every lease of a principal, in every pool; returns the leases it ended. */
  async revokePrincipal(principal: Principal, actor: Actor, reason?: string): Promise<Lease[]> {
    const ended = await this.deps.store.transaction(async (tx) => {
      const leases = await tx.activeLeasesOf(principal);
      const now = tx.now();
      const out: Lease[] = [];
      for (const l of leases) {
        const expired = l.expiresAt <= now;
        out.push(await this.end(tx, l, expired ? 'expired' : 'revoked', actor, reason !== undefined ? { reason } : {}));
      }
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'principal.revoked',
        detail: {
          issuer: principal.issuer,
          subject: principal.subject,
          leases: leases.length,
          ...(reason ? { reason } : {}),
        },
      });
      return out;
    });
    await this.reportEnded(ended);
    return ended;
  }

  /** Ends leases whose expiry passed unnoticed, in every pool. Returns how many. */
  async sweep(limit = 500): Promise<number> {
    const now = await this.deps.store.now();
    const due = await this.deps.store.expiredUnended(now, limit);
    if (due.length === 0) return 0;
    const ended = await this.deps.store.transaction(async (tx) => {
      const out: Lease[] = [];
      // Read together (one round trip on PostgreSQL), each locked; ended one by one.
      for (const l of await Promise.all(due.map((d) => tx.getLease(d.id)))) {
        if (l && l.endedAt === undefined && l.expiresAt <= tx.now()) {
          out.push(await this.end(tx, l, 'expired', { kind: 'system' }, {}));
        }
      }
      return out;
    });
    void this.reportEnded(ended);
    return ended.length;
  }

  /** Appends an audit entry for a change made outside the lease rules (a signing-key rotation). */
  async record(actor: Actor, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.deps.store.transaction((tx) => tx.audit({ at: tx.now(), actor: actorName(actor), action, detail }));
  }

  private async owned(tx: StoreTx, id: string, principal: Principal): Promise<Lease> {
    const lease = await tx.getLease(id);
    if (!lease) throw new NotFound(`no lease ${id}`);
    if (!samePrincipal(lease.principal, principal)) throw new Forbidden(`lease ${id} belongs to another principal`);
    return lease;
  }

  /** Records an expiry noticed late. */
  private expire(tx: StoreTx, lease: Lease): Promise<Lease> {
    return this.end(tx, lease, 'expired', { kind: 'system' }, {});
  }

  private async end(
    tx: StoreTx,
    lease: Lease,
    reason: EndReason,
    actor: Actor,
    detail: Record<string, unknown>,
  ): Promise<Lease> {
    // An expiry noticed late still ended at the expiry instant.
    const endedAt = reason === 'expired' ? lease.expiresAt : tx.now();
    await tx.endLease(lease, endedAt, reason, floorEndOf(lease, endedAt, reason));
    await tx.audit({
      at: tx.now(),
      actor: actorName(actor),
      action: `lease.${reason}`,
      pool: lease.pool,
      node: lease.node,
      leaseId: lease.id,
      detail: { ...detail, principal: `${lease.principal.issuer}:${lease.principal.subject}` },
    });
    return { ...lease, endedAt, endReason: reason };
  }

  /** Resolves when the listener is done (an admin's revocation waits for NATS to drop the user). */
  private async reportEnded(ended: Lease[]): Promise<void> {
    try {
      if (ended.length > 0) await this.deps.onEnded?.(ended);
    } catch {
      // The ends are committed whatever the listener does; it reports its own failures.
    }
  }
}
