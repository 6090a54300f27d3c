/**
 * The account's signing keys as a small state machine, on a draft of the NATS state:
 * pending (listed in the account JWT, signs nothing) → active (signs) → retiring (listed until the
 * last JWT it signed expired). A key signs only once the servers know it, as with nsc.
 */
import { generateNkey } from './nkey.js';
import { activeKey, pendingKey } from './state-keeper.js';
import type { NatsState } from './state.js';

/** CONTRACT §4's `GET /v1/admin/keys`: the keys that sign or signed; a pending key is not shown. */
export interface Keys {
  keys: { publicKey: string; state: 'active' | 'retiring'; createdAt: string; retireAt?: string }[];
}

/** A rotation as saved: `publicKey` is pending and signs once the servers accepted it. */
export interface Rotation {
  /** The new signing key. */
  publicKey: string;
  createdAt: string;
  /** The key that signs until then, and retires after. */
  replaces: string;
}

/** CONTRACT §4's view: a pending key is left out. */
export function keysView(s: NatsState): Keys {
  return {
    keys: s.signingKeys.flatMap((k) =>
      k.state === 'pending'
        ? []
        : [
            {
              publicKey: k.publicKey,
              state: k.state,
              createdAt: new Date(k.createdAt).toISOString(),
              ...(k.retireAt !== undefined ? { retireAt: new Date(k.retireAt).toISOString() } : {}),
            },
          ],
    ),
  };
}

/** Adds a pending key to the draft, unless one is pending already; either way, that rotation. */
export function addPendingKey(s: NatsState, now: number): Rotation {
  const active = activeKey(s);
  let next = pendingKey(s);
  if (!next) {
    const fresh = generateNkey('account');
    next = { publicKey: fresh.publicKey, seed: fresh.seed, state: 'pending', createdAt: now };
    s.signingKeys.push(next);
  }
  return { publicKey: next.publicKey, createdAt: new Date(next.createdAt).toISOString(), replaces: active.publicKey };
}

/** The pending key becomes active; the active one retires once every JWT it signed expired. */
export function promotePendingKey(s: NatsState, now: number, syncGraceMs: number): void {
  const next = pendingKey(s);
  if (!next) return;
  const old = activeKey(s);
  old.state = 'retiring';
  // Replicas that have not noticed yet sign on with it for up to syncGraceMs.
  old.retireAt = Math.max(old.lastExpiresAt ?? 0, now + syncGraceMs);
  next.state = 'active';
  next.activatedAt = now;
}

/** How old the account's signing keys are, for the rotation schedule and whoever watches it. */
export interface SigningKeyAges {
  /** Since the active key began signing: the schedule rotates it once this reaches its period. */
  activeMs: number;
  /** Since a rotation added the pending key: how long it has waited for the servers to accept it. */
  pendingMs?: number;
}

export function signingKeyAges(s: NatsState, now: number): SigningKeyAges {
  const active = activeKey(s);
  const pending = pendingKey(s);
  return {
    activeMs: Math.max(0, now - (active.activatedAt ?? active.createdAt)),
    ...(pending ? { pendingMs: Math.max(0, now - pending.createdAt) } : {}),
  };
}
