/**
 * The NATS side's Prometheus metrics: the revocation budget, how revocations fared, and the signing
 * keys' ages against their rotation period. Gauges are read from the authority at scrape time.
 */
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { NatsAuthority } from './authority.js';
import type { GrantGate } from './revocation-budget.js';

export class NatsMetrics {
  readonly revocations: Counter<'status'>;

  constructor(registry: PromRegistry, authority: NatsAuthority, gate: GrantGate) {
    this.revocations = new Counter({
      name: 'snowgate_nats_revocations_total',
      help: 'Leases whose NATS users were revoked, by whether the servers confirmed it when answered (revoked) or not yet (pending)',
      labelNames: ['status'] as const,
      registers: [registry],
    });
    new Gauge({
      name: 'snowgate_nats_revocation_budget',
      help: 'The account JWT revocation budget: revocations in use, active leases that may need one, and the capacity under max_payload',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const room = authority.revocations.room();
        this.set({ kind: 'used' }, room.used);
        this.set({ kind: 'active_leases' }, gate.status().active);
        this.set({ kind: 'capacity' }, room.capacity);
      },
    });
    new Gauge({
      name: 'snowgate_nats_account_jwt_bytes',
      help: 'Size of the current account JWT, and the max_payload the servers accept',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const f = authority.revocations.facts();
        this.set({ kind: 'current' }, f.accountJwtBytes);
        this.set({ kind: 'max_payload' }, f.maxPayload);
      },
    });
    new Gauge({
      name: 'snowgate_nats_account_update_seconds',
      help: 'What the last revocation update (save and push of the account JWT) took',
      registers: [registry],
      collect() {
        this.set(authority.revocations.facts().lastUpdateMs / 1000);
      },
    });
    new Gauge({
      name: 'snowgate_nats_signing_key_age_seconds',
      help: 'Age of the account signing keys: active since it began signing, pending since a rotation added it (absent when none is pending)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const ages = authority.keyAges();
        // A pending key is promoted or gone by the next scrape: its series must go with it.
        this.reset();
        this.set({ state: 'active' }, ages.activeMs / 1000);
        if (ages.pendingMs !== undefined) this.set({ state: 'pending' }, ages.pendingMs / 1000);
      },
    });
    new Gauge({
      name: 'snowgate_nats_signing_key_rotation_seconds',
      help: 'How old the active signing key may get before the schedule rotates it (nats.signingKeyRotation); 0: never',
      registers: [registry],
      collect() {
        this.set(authority.keyAges().rotationMs / 1000);
      },
    });
  }
}
