/**
 * Revocations within what the servers accept. nats-server refuses an account JWT larger than its
 * `max_payload`, and a revocation that cannot be pushed leaves its user connected: so the registry
 * fails closed on the grant side. Every lease holding credentials may end early and need a revocation,
 * so a grant is admitted only while the revocations in the account JWT, those queued, the active
 * leases and the grants in flight all fit; otherwise it is refused (503 revocations_full) until
 * revocations age out, and every release that follows can still be pushed.
 */
import { RevocationsFull } from '../errors.js';

/** nats-server's default `max_payload`, assumed until a server said otherwise. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * The share of `max_payload` the budget fills. The rest absorbs what this replica cannot see at
 * once: other replicas' grants since the last count of active leases, and the seconds' digits.
 */
export const BUDGET_SHARE = 0.9;

/** One revocation in the account JWT: `"U…56…":1234567890,` is 70 bytes of JSON, base64url-encoded. */
export const REVOCATION_BYTES = (70 * 4) / 3;

/** Room for two more signing keys (a rotation under way): `"A…56…",` each, base64url-encoded. */
const SPARE_KEY_BYTES = (2 * 59 * 4) / 3;

/** `,"revocations":{}` and base64 rounding. */
const MAP_BYTES = 32;

/**
 * How many revocations an account JWT may carry: `baseBytes` is its size with none (the keys,
 * limits, header and signature), `maxPayload` what the servers accept.
 */
export function revocationCapacity(maxPayload: number, baseBytes: number): number {
  const room = maxPayload * BUDGET_SHARE - baseBytes - SPARE_KEY_BYTES - MAP_BYTES;
  return Math.max(0, Math.floor(room / REVOCATION_BYTES));
}

/** The account's revocation room as one replica sees it. */
export interface RevocationRoom {
  /** Revocations in the account JWT that some JWT may still need, plus those queued. */
  used: number;
  capacity: number;
  /** When the oldest of them may be dropped (epoch ms); undefined when there is none. */
  freesAtMs?: number;
}

export interface GrantGateOptions {
  room: () => RevocationRoom;
  now: () => number;
  /** Retry-After when no revocation is due to age out: a revocation's whole life. */
  fullRetryMs: number;
}

/** A grant admitted against the budget: say how it ended. */
export interface GrantSlot {
  granted(): void;
  abandoned(): void;
}

/**
 * Admission for grants. Active leases are counted from the store now and then (`setActive`) and
 * kept current in between from this replica's own grants and ends.
 */
export class GrantGate {
  readonly #o: GrantGateOptions;
  #active = 0;
  #inFlight = 0;

  constructor(options: GrantGateOptions) {
    this.#o = options;
  }

  /** Active leases holding credentials, as the store counts them (every replica's). */
  setActive(n: number): void {
    this.#active = n;
  }

  /** Leases that ended here: each one's future revocation is in the room's `used` from now on. */
  ended(n: number): void {
    this.#active = Math.max(0, this.#active - n);
  }

  /** Throws RevocationsFull when one more lease could leave a later revocation unpushable. */
  admit(): GrantSlot {
    const room = this.#o.room();
    if (room.used + this.#active + this.#inFlight + 1 > room.capacity) {
      const wait = room.freesAtMs !== undefined ? room.freesAtMs - this.#o.now() : this.#o.fullRetryMs;
      throw new RevocationsFull(
        `the NATS account has room for ${room.capacity} revocations and ${room.used} are in use with ` +
          `${this.#active} active leases: a grant now could leave a later revocation unpushable`,
        Math.max(1, Math.ceil(wait / 1000)),
      );
    }
    this.#inFlight++;
    let done = false;
    const finish = (active: number): void => {
      if (done) return;
      done = true;
      this.#inFlight--;
      this.#active += active;
    };
    return { granted: () => finish(1), abandoned: () => finish(0) };
  }

  status(): { active: number; inFlight: number } {
    return { active: this.#active, inFlight: this.#inFlight };
  }
}

/** When each revocation in the state may go, sorted: counts the live ones in O(log n). */
export class RevocationExpiries {
  #at = new Float64Array(0);

  /** `expiry(second)`: when a revocation made at that unix second is no longer needed. */
  reset(revocations: ReadonlyMap<string, number>, expiry: (second: number) => number): void {
    const at = new Float64Array(revocations.size);
    let i = 0;
    for (const second of revocations.values()) at[i++] = expiry(second);
    // A typed array's native sort.
    this.#at = at.sort();
  }

  /** How many are still needed at `now`. */
  live(now: number): number {
    return this.#at.length - this.#firstAfter(now);
  }

  /** The next instant one of them may go, if any. */
  next(now: number): number | undefined {
    return this.#at[this.#firstAfter(now)];
  }

  #firstAfter(now: number): number {
    let lo = 0;
    let hi = this.#at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at[mid]! <= now) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
