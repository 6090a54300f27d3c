/** Pins: an admin's standing assignment of one node of a pool to one principal (CONTRACT §4). */
import type { PoolConfig } from '../config/types.js';
import { InvalidRequest, NodeConflict, NotFound } from '../errors.js';
import { inRanges } from '../snowflake/layout.js';
import type { Store } from '../store/port.js';
import { samePrincipal } from './allocation.js';
import { actorName, type Actor, type Mapping, type Principal } from './types.js';

export class Pins {
  constructor(
    private readonly store: Store,
    /** Looks a pool up by name; throws NotFound. */
    private readonly pool: (name: string) => PoolConfig,
  ) {}

  /** Pins a node; refuses one pinned to or leased by another principal. */
  async put(
    pool: string,
    node: number,
    principal: Principal,
    note: string | undefined,
    actor: Actor,
  ): Promise<'created' | 'unchanged' | 'updated'> {
    const p = this.pool(pool);
    if (!inRanges(p.nodes, node)) throw new InvalidRequest(`node ${node} is not in pool ${pool}`);
    return this.store.transaction(async (tx) => {
      const now = tx.now();
      const existing = await tx.getPin(pool, node);
      if (existing && !samePrincipal(existing.principal, principal)) {
        throw new NodeConflict(`node ${node} of pool ${pool} is pinned to another principal`);
      }
      const holder = await tx.activeLeaseOn(pool, node);
      if (holder && holder.expiresAt > now && !samePrincipal(holder.principal, principal)) {
        throw new NodeConflict(`node ${node} of pool ${pool} is leased by another principal`);
      }
      if (existing && (existing.note ?? undefined) === note) return 'unchanged';
      await tx.putPin({
        pool,
        node,
        principal,
        ...(note !== undefined ? { note } : {}),
        createdAt: existing?.createdAt ?? now,
        createdBy: existing?.createdBy ?? actorName(actor),
      });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: existing ? 'mapping.updated' : 'mapping.created',
        pool,
        node,
        detail: { issuer: principal.issuer, subject: principal.subject, ...(note !== undefined ? { note } : {}) },
      });
      return existing ? 'updated' : 'created';
    });
  }

  async delete(pool: string, node: number, actor: Actor): Promise<void> {
    this.pool(pool);
    await this.store.transaction(async (tx) => {
      const existing = await tx.getPin(pool, node);
      if (!existing) throw new NotFound(`node ${node} of pool ${pool} is not pinned`);
      await tx.deletePin(pool, node);
      await tx.audit({
        at: tx.now(),
        actor: actorName(actor),
        action: 'mapping.deleted',
        pool,
        node,
        detail: { issuer: existing.principal.issuer, subject: existing.principal.subject },
      });
    });
  }

  list(pool?: string): Promise<Mapping[]> {
    if (pool !== undefined) this.pool(pool);
    return this.store.listPins(pool);
  }
}
