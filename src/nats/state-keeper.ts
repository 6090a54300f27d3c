/**
 * This process's copy of the replicated NATS state, and the only way to change it:
 * load → apply → compare-and-set save, retried when another replica saved first.
 *
 * Within the process, changes run one at a time (a promise chain), so they never conflict
 * with each other, only with other replicas.
 */
import type { Clock } from '../clock.js';
import { SeedSealer } from './seed-seal.js';
import { parseState, serializeState, type NatsState, type NatsStateStore, type SigningKeyState } from './state.js';

const MAX_SAVE_ATTEMPTS = 20;

export interface StateKeeperOptions {
  store: NatsStateStore;
  /** The application account the state must belong to. */
  account: string;
  clock: Clock;
  /** Runs on every state adopted (loaded or saved), before anyone reads it. */
  onAdopt?: (s: NatsState) => void;
  /** Runs on each draft before `apply`: folds in what only this process knows (expiries). */
  prepare?: (draft: NatsState) => void;
  /**
   * Seals signing-key seeds in what is saved (seed-seal.ts) and opens them on load. Without it seeds
   * are saved as they are: for tests only.
   */
  sealer?: SeedSealer;
}

export class StateKeeper {
  readonly #o: StateKeeperOptions;
  #state: NatsState | undefined;
  #version = 0;
  /** The stored record's data for #version: a draft encoding to the same changed nothing. */
  #stored = '';
  #lock: Promise<unknown> = Promise.resolve();
  /** Sealed seeds by public key, made once: a save does not re-encrypt what did not change. */
  readonly #sealed = new Map<string, string>();
  /** The stored record still holds a seed in the clear (saved before seeds were sealed). */
  #plainAtRest = false;

  constructor(options: StateKeeperOptions) {
    this.#o = options;
  }

  get loaded(): boolean {
    return this.#state !== undefined;
  }

  get state(): NatsState {
    if (!this.#state) throw new Error('the NATS authority has not started');
    return this.#state;
  }

  /** 0 before the first load; each save adds one. */
  get version(): number {
    return this.#version;
  }

  /** The state as stored for this version (JSON; seeds sealed when a sealer is given). */
  get data(): string {
    if (!this.#state) throw new Error('the NATS authority has not started');
    return this.#stored;
  }

  /** Loads the stored state, or saves `seed()` when there is none yet. */
  loadOrSeed(seed: () => NatsState): Promise<void> {
    return this.#locked(async () => {
      await this.#sync();
      if (this.#state) return;
      const s = seed();
      const data = this.#encode(s);
      if (await this.#o.store.save(0, data)) this.#adopt(s, 1, data);
      else await this.#sync(); // another replica seeded first
      if (!this.#state) throw new Error('NATS state: neither loaded nor seeded');
    });
  }

  /** Adopts the stored state if another replica saved a newer one. */
  sync(): Promise<void> {
    return this.#locked(() => this.#sync());
  }

  /**
   * Applies `apply` to the latest state and saves it. The account JWT's `iat` moves (strictly
   * up) only when what the JWT says changes; nothing is saved when nothing changed. The state is
   * serialised once: with 20,000 revocations each serialisation is ~5 ms.
   */
  mutate(apply: (draft: NatsState, nowMs: number) => void, opts: { force?: boolean } = {}): Promise<void> {
    return this.#locked(async () => {
      for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt++) {
        await this.#sync();
        const prev = this.state;
        const expected = this.#version;
        const draft = cloneState(prev);
        const now = this.#o.clock.now();
        this.#o.prepare?.(draft);
        apply(draft, now);
        const sameAccount = sameAccountContent(draft, prev);
        if (!sameAccount) draft.accountIat = Math.max(Math.floor(now / 1000), prev.accountIat + 1);
        const data = this.#encode(draft);
        if (!opts.force && sameAccount && data === this.#stored) return;
        if (await this.#o.store.save(expected, data)) {
          this.#plainAtRest = false;
          this.#adopt(draft, expected + 1, data);
          return;
        }
      }
      throw new Error(`NATS state: gave up after ${MAX_SAVE_ATTEMPTS} conflicting saves`);
    });
  }

  /** A migration: re-saves a record that still holds a seed in the clear, sealed. */
  async sealAtRest(): Promise<boolean> {
    if (!this.#o.sealer || !this.#plainAtRest) return false;
    await this.mutate(() => undefined, { force: true });
    return true;
  }

  async #sync(): Promise<void> {
    // Before every change and after every push: the record itself only when another replica saved.
    if ((await this.#o.store.version()) <= this.#version) return;
    const rec = await this.#o.store.load();
    if (!rec || rec.version <= this.#version) return;
    const s = this.#decode(rec.data);
    if (s.account !== this.#o.account) {
      throw new Error(`the stored NATS state is for account ${s.account}, not ${this.#o.account} from nats.dir`);
    }
    this.#adopt(s, rec.version, rec.data);
  }

  #encode(s: NatsState): string {
    const sealer = this.#o.sealer;
    if (!sealer) return serializeState(s);
    const signingKeys = s.signingKeys.map((k) => {
      let sealed = this.#sealed.get(k.publicKey);
      if (sealed === undefined) {
        sealed = sealer.seal(k.seed, k.publicKey);
        this.#sealed.set(k.publicKey, sealed);
      }
      return { ...k, seed: sealed };
    });
    return serializeState({ ...s, signingKeys });
  }

  #decode(data: string): NatsState {
    const s = parseState(data);
    const sealer = this.#o.sealer;
    let plain = false;
    for (const k of s.signingKeys) {
      if (SeedSealer.isSealed(k.seed)) {
        if (!sealer) throw new Error(`the stored seed of ${k.publicKey} is sealed and no key-encryption key was given`);
        const sealed = k.seed;
        k.seed = sealer.open(sealed, k.publicKey);
        this.#sealed.set(k.publicKey, sealed);
      } else {
        plain = true;
      }
    }
    this.#plainAtRest = plain;
    return s;
  }

  #adopt(s: NatsState, version: number, data: string): void {
    this.#state = s;
    this.#version = version;
    this.#stored = data;
    this.#o.onAdopt?.(s);
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}

export function activeKey(s: NatsState): SigningKeyState {
  const k = s.signingKeys.find((x) => x.state === 'active');
  if (!k) throw new Error('NATS state: no active signing key');
  return k;
}

/** The key a rotation added that does not sign yet, if any. */
export function pendingKey(s: NatsState): SigningKeyState | undefined {
  return s.signingKeys.find((x) => x.state === 'pending');
}

/**
 * Whether two states' account JWTs say the same (signing keys, revocations): its `iat` moves only
 * when they differ. Compared key by key: sorting the revocations to compare them cost 67 ms at
 * 16,000, twice an update.
 */
function sameAccountContent(a: NatsState, b: NatsState): boolean {
  if (a.signingKeys.length !== b.signingKeys.length) return false;
  if (a.signingKeys.some((k, i) => k.publicKey !== b.signingKeys[i]!.publicKey)) return false;
  if (a.revocations.size !== b.revocations.size) return false;
  for (const [k, second] of a.revocations) if (b.revocations.get(k) !== second) return false;
  return true;
}

/** A deep copy; the revocations copied as a Map, which structuredClone does at twice the cost. */
function cloneState(s: NatsState): NatsState {
  return { ...structuredClone({ ...s, revocations: undefined }), revocations: new Map(s.revocations) };
}
