/**
 * Builds the account JWT of each state version off the event loop. An account JWT carries every
 * revocation: at 30,000 it is 2.8 MB whose JSON, jti hash, base64 and Ed25519 signature took
 * 29-49 ms, once per update, during which every request waited. A worker thread builds it from
 * the state's stored form (a string: the hand-over costs the event loop about 5 ms at 30,000,
 * where the state itself would be cloned entry by entry); small states are built inline.
 * Ed25519 and the jti are deterministic: the thread's bytes are the inline build's, so replicas
 * still agree.
 *
 * Should the thread fail (it cannot start, or dies), builds go on inline: slower, never wrong.
 */
import { Worker } from 'node:worker_threads';
import { buildAccountJwt } from './account.js';
import { createSigner, type NativeSigner } from './signer.js';
import type { NatsState } from './state.js';

export interface AccountJwtBuilderOptions {
  operatorSeed: string;
  accountPublicKey: string;
  name: string;
  /** States whose stored form is at least this many characters are built on the thread. */
  threadFrom?: number;
}

/**
 * ~1,800 revocations (70 characters each), which build inline in about 2 ms: below it, a thread
 * is not worth starting (most registries, and every test that does not ask for it).
 */
const THREAD_FROM = 128 * 1024;

interface Job {
  resolve: (jwt: string) => void;
  reject: (e: Error) => void;
}

export class AccountJwtBuilder {
  readonly #o: AccountJwtBuilderOptions;
  readonly #operator: NativeSigner;
  #worker: Worker | undefined;
  #failed = false;
  #next = 0;
  readonly #jobs = new Map<number, Job>();
  #cache: { version: number; jwt: Promise<string> } | undefined;
  #lastBytes = 0;

  constructor(options: AccountJwtBuilderOptions) {
    this.#o = options;
    this.#operator = createSigner(options.operatorSeed);
  }

  /** The account JWT of state version `version`, built once (again only if that build failed). */
  forVersion(version: number, s: NatsState, data: string): Promise<string> {
    if (this.#cache?.version !== version) {
      const entry = { version, jwt: this.build(s, data) };
      this.#cache = entry;
      entry.jwt.then(
        (jwt) => {
          this.#lastBytes = jwt.length;
        },
        () => {
          if (this.#cache === entry) this.#cache = undefined;
        },
      );
    }
    return this.#cache.jwt;
  }

  /** The size of the account JWT last built (for metrics). */
  get lastBytes(): number {
    return this.#lastBytes;
  }

  /** The account JWT of `s`, whose stored form is `data`. */
  async build(s: NatsState, data: string): Promise<string> {
    const inline = () =>
      this.inline(
        s.signingKeys.map((k) => k.publicKey),
        s.revocations,
        s.accountIat,
      );
    if (this.#failed || data.length < (this.#o.threadFrom ?? THREAD_FROM)) return inline();
    try {
      return await this.#onThread(data);
    } catch {
      return inline();
    }
  }

  /** Built here and now (the budget's base size, small states). */
  inline(signingKeys: readonly string[], revocations: ReadonlyMap<string, number>, iatSeconds: number): string {
    return buildAccountJwt({
      operator: this.#operator,
      accountPublicKey: this.#o.accountPublicKey,
      name: this.#o.name,
      signingKeys,
      revocations,
      iatSeconds,
    });
  }

  #onThread(data: string): Promise<string> {
    const worker = this.#start();
    const id = this.#next++;
    return new Promise<string>((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      // Held while a build is awaited: a process with nothing else to do waits for it.
      worker.ref();
      worker.postMessage({ id, data });
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#failed = true;
    this.#abandon(new Error('the account JWT builder is closed'));
    await w?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(new URL('./account-jwt-worker.js', import.meta.url), {
      workerData: {
        operatorSeed: this.#o.operatorSeed,
        accountPublicKey: this.#o.accountPublicKey,
        name: this.#o.name,
      },
    });
    w.unref();
    w.on('message', (m: { id: number; jwt?: string; error?: string }) => {
      const job = this.#jobs.get(m.id);
      this.#jobs.delete(m.id);
      if (this.#jobs.size === 0) w.unref();
      if (m.jwt !== undefined) job?.resolve(m.jwt);
      else job?.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      this.#failed = true;
      this.#abandon(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the account JWT worker exited (${code})`)));
    this.#worker = w;
    return w;
  }

  /** Jobs in flight are built inline instead (build's catch). */
  #abandon(e: Error): void {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const j of jobs) j.reject(e);
  }
}
