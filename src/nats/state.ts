/**
 * The NATS authority's durable state, and the port through which the registry's store keeps it.
 *
 * Every replica reads and writes the same record with compare-and-set, so replicas agree on
 * the signing keys and revocations, and the account JWT built from a version is the same bytes
 * on every replica (its `iat` is part of the state).
 */

/**
 * A signing key's life: `pending` (listed in the account JWT, signs nothing: the servers may not
 * know it yet) → `active` (signs; once a pushed account JWT listing it was accepted) →
 * `retiring` (signs nothing; stays listed until every JWT it signed has expired) → gone.
 */
export type SigningKeyStage = 'pending' | 'active' | 'retiring';

export interface SigningKeyState {
  publicKey: string;
  seed: string;
  state: SigningKeyStage;
  /** Epoch milliseconds. */
  createdAt: number;
  /** When it became active (epoch ms); the rotation schedule counts from here. Absent: createdAt. */
  activatedAt?: number;
  /** Retiring keys: when every JWT the key signed has expired and it leaves the account. */
  retireAt?: number;
  /** The latest `exp` (epoch ms) of a user JWT this key signed, as far as saved. */
  lastExpiresAt?: number;
}

export interface NatsState {
  /** The application account these keys belong to; guards against a re-initialised `nats.dir`. */
  account: string;
  /** Exactly one is active; at most one is pending. */
  signingKeys: SigningKeyState[];
  /**
   * User public key → unix second; covers that user's JWTs issued at or before it. In the order
   * they were made, which the stored JSON keeps, so every replica reads back the same order. A Map:
   * at 30,000 copying, comparing and walking one costs a third to a tenth of a plain object's.
   */
  revocations: Map<string, number>;
  /** `iat` of the account JWT for this state; strictly increases whenever its content changes. */
  accountIat: number;
  /**
   * The `max_payload` the servers last reported (bytes): the account JWT must fit in it. Kept here so
   * a registry started while NATS is down budgets from what the servers said before.
   */
  maxPayload?: number;
  /**
   * The longest user JWT lifetime in use (ms): how long a revocation must last. When a restart
   * lowered it, the former one still holds until the JWTs issued under it have expired.
   */
  jwtTtl?: { ms: number; formerMs?: number; formerUntil?: number };
}

/**
 * Where the state lives: implemented by the registry's store (SQLite, PostgreSQL).
 * One record; `version` starts at 0 for "none" and each successful save makes it
 * `expectedVersion + 1`.
 */
export interface NatsStateStore {
  /** The current record, or undefined before the first save. */
  load(): Promise<{ version: number; data: string } | undefined>;
  /**
   * The current record's version, 0 before the first save, without its data: a replica that holds
   * that version already reads a number, not the megabytes the revocations make.
   */
  version(): Promise<number>;
  /** Compare-and-set: false (and nothing written) when the current version is not `expectedVersion`. */
  save(expectedVersion: number, data: string): Promise<boolean>;
}

/** For tests only: state in this process's memory, lost on exit and invisible to other replicas. */
export class MemoryNatsStateStore implements NatsStateStore {
  #record: { version: number; data: string } | undefined;

  load(): Promise<{ version: number; data: string } | undefined> {
    return Promise.resolve(this.#record && { ...this.#record });
  }

  version(): Promise<number> {
    return Promise.resolve(this.#record?.version ?? 0);
  }

  save(expectedVersion: number, data: string): Promise<boolean> {
    if ((this.#record?.version ?? 0) !== expectedVersion) return Promise.resolve(false);
    this.#record = { version: expectedVersion + 1, data };
    return Promise.resolve(true);
  }
}

export class InvalidNatsState extends Error {}

/** The state as stored: JSON, its revocations an object (user key → second) in their order. */
export function serializeState(state: NatsState): string {
  return spliceJson(JSON.stringify({ ...state, revocations: 0 }), 'revocations', revocationsJson(state.revocations));
}

/** Characters of an nkey: written into JSON as they are. */
const NKEY = /^[A-Z2-7]+$/;

/** Revocations as a JSON object, in their order: what JSON.stringify gives for the same object. */
export function revocationsJson(revocations: ReadonlyMap<string, number>): string {
  let out = '';
  for (const [k, v] of revocations) out += `,${NKEY.test(k) ? `"${k}"` : JSON.stringify(k)}:${JSON.stringify(v)}`;
  return `{${out.slice(1)}}`;
}

/**
 * `json` with its `"key":0` replaced by the JSON text `value`. Only for a key that appears once as
 * a key (a string holding it would have its quotes escaped), serialised with 0 in its place.
 */
export function spliceJson(json: string, key: string, value: string): string {
  const placeholder = `"${key}":0`;
  const at = json.indexOf(placeholder);
  if (at < 0) throw new Error(`no ${placeholder} to fill`);
  return `${json.slice(0, at + placeholder.length - 1)}${value}${json.slice(at + placeholder.length)}`;
}

const STAGES: ReadonlySet<string> = new Set<SigningKeyStage>(['pending', 'active', 'retiring']);

export function parseState(data: string): NatsState {
  const s = JSON.parse(data) as Omit<Partial<NatsState>, 'revocations'> & { revocations?: unknown };
  const keys = s.signingKeys;
  if (
    typeof s.account !== 'string' ||
    !Array.isArray(keys) ||
    typeof s.revocations !== 'object' ||
    s.revocations === null ||
    Array.isArray(s.revocations) ||
    typeof s.accountIat !== 'number' ||
    (s.maxPayload !== undefined && !(Number.isInteger(s.maxPayload) && s.maxPayload > 0))
  ) {
    throw new InvalidNatsState('NATS state: malformed record');
  }
  if (keys.some((k) => !STAGES.has(k.state))) {
    throw new InvalidNatsState('NATS state: a signing key in an unknown state');
  }
  if (keys.filter((k) => k.state === 'active').length !== 1) {
    throw new InvalidNatsState('NATS state: exactly one signing key must be active');
  }
  if (keys.filter((k) => k.state === 'pending').length > 1) {
    throw new InvalidNatsState('NATS state: at most one signing key may be pending');
  }
  const stored = s.revocations as Record<string, unknown>;
  const revocations = new Map<string, number>();
  for (const k in stored) {
    const second = stored[k];
    if (typeof second !== 'number' || !Number.isFinite(second)) {
      throw new InvalidNatsState('NATS state: a revocation that is not a number');
    }
    revocations.set(k, second);
  }
  // In its place among the keys, so the state serialises as it was read.
  return { ...s, revocations } as NatsState;
}
