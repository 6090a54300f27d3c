/** A client runtime whose time moves only when the test says, and whose registry is a function. */
import type { Runtime } from '../../src/client/runtime.js';

export interface SeenRequest {
  method: string;
  path: string;
  auth: string | null;
  body: unknown;
}

export type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

export class FakeRuntime {
  now = 1_000;
  wall = Date.parse('2025-06-01T12:00:00Z');
  readonly requests: SeenRequest[] = [];
  private timers: Array<{ at: number; fire: () => void }> = [];

  constructor(private readonly answer: (r: SeenRequest) => Answer | Promise<Answer>) {}

  readonly runtime: Runtime = {
    monotonic: () => this.now,
    random: () => 0.5,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const t = { at: this.now + Math.max(0, ms), fire: resolve };
        this.timers.push(t);
        signal?.addEventListener('abort', () => {
          this.timers = this.timers.filter((x) => x !== t);
          resolve();
        });
      }),
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const headers = new Headers(init?.headers);
      const r: SeenRequest = {
        method: init?.method ?? 'GET',
        path: url.pathname,
        auth: headers.get('authorization'),
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      };
      this.requests.push(r);
      const a = await this.answer(r);
      return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
        status: a.status,
        headers: { 'content-type': 'application/json', ...a.headers },
      });
    },
  };

  /** The wall clock, moving with the monotonic one. */
  readonly clock = { now: () => this.wall };

  /** Lets `ms` pass, firing timers in order and letting the promises they release run. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      await settle();
      const next = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.wall += next.at - this.now;
      this.now = next.at;
      next.fire();
    }
    this.wall += until - this.now;
    this.now = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((ok) => setImmediate(ok));
}

/** A §4 lease body as the registry would answer at `wallNow`. */
export function leaseBody(o: { id: string; node?: number; wallNow: number; ttlMs?: number; skewMs?: number }) {
  const ttl = o.ttlMs ?? 10_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    lease: {
      id: o.id,
      pool: 'default',
      node: o.node ?? 7,
      generation: 1,
      principal: { issuer: 'corp', subject: 'svc' },
      issuedAt: iso(o.wallNow),
      expiresAt: iso(o.wallNow + ttl),
      renewAfter: iso(o.wallNow + ttl / 2),
      notBefore: iso(o.wallNow - 5_000),
    },
    layout: { epoch: '2024-01-01T00:00:00.000Z', timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
    now: iso(o.wallNow),
    maxClockSkewMs: o.skewMs ?? 1_000,
  };
}

export function problem(status: number, code: string, extra: object = {}): Answer {
  return { status, body: { type: `urn:snowgate:problem:${code}`, title: code, status, detail: code, code, ...extra } };
}
