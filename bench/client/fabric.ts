/**
 * The client on a real registry and nats-server (snowgate/testing starts both, on loopback, in
 * a child process: see registry-process.ts):
 * LineageVerifier.check over messages a NodeLease published and a subscriber received, with the
 * lineage cached and with signatures; and NodeLease.publish (stamped) against nats.js publishing
 * on the lease's own connection, with the same subject and payload.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect, credsAuthenticator, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { LineageVerifier, NodeLease, type CheckResult } from '../../src/client/index.js';
import { StampHeaders } from '../../src/client/stamp.js';
import type { Cleanup } from '../cleanup.js';
import { measureInterleaved, type MeasureOptions, type Rate } from '../measure.js';
import { percent, rateRow, table } from '../report.js';
import type { RegistryProcessInfo } from './registry-process.js';

const PAYLOAD = new Uint8Array(64).fill(120);
/** Publishes between flushes: the client's buffer stays bounded and the server keeps up. */
const BATCH = 1000;

const rate = (r: { perSecond: number }): string => Math.round(r.perSecond).toLocaleString('en-US');

export interface FabricFigures {
  checksPerSecond: number;
  signedChecksPerSecond: number;
  stampedOverPlain: number;
}

async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Starts registry-process.js and resolves with what it printed; registered with `cleanup` at once. */
async function startRegistry(cleanup: Cleanup): Promise<RegistryProcessInfo> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('registry-process.js', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((ok) => child.once('exit', ok));
  cleanup.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within('the registry process to stop', 15_000, exited).catch(() => child.kill('SIGKILL'));
  });
  let out = '';
  const line = new Promise<string>((ok, fail) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) ok(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => fail(new Error(`the registry process exited ${code}: ${out}`)));
  });
  return JSON.parse(await within('the registry process to start', 60_000, line)) as RegistryProcessInfo;
}

/**
 * Checks per second of time spent in `check`, best of `passes`, after one untimed pass that lets
 * the JIT compile it (every other figure here is taken after a warm-up). Each pass publishes
 * `perPass` messages of its own to a fresh verifier, which checks each one in the subscription's
 * callback as it arrives, as a subscriber does: the message is in the CPU's cache, and it and
 * what the check made die young. nats.js parses the headers and subject first, untimed (its lazy
 * parsing is not the verifier's cost); the clock read around each check is counted against it, and
 * the check's promise is resolved when it returns (awaiting it is the subscriber's own cost).
 * The first message of a pass looks the lease up, and is awaited before the rest are sent.
 */
async function checkRate(
  reg: RegistryProcessInfo,
  node: NodeLease,
  watcher: NatsConnection,
  o: { passes: number; perPass: number; signed: boolean },
): Promise<{ perSecond: number; lookups: number; count: number }> {
  const subject = `ids.${node.lease.pool}.${node.lease.node}.verify${o.signed ? '.signed' : ''}`;
  const want = o.signed ? 'valid' : 'missing';
  let best = 0;
  let lookups = 0;
  for (let p = 0; p <= o.passes; p++) {
    const v = new LineageVerifier({ registry: reg.url, token: reg.token });
    await v.layouts();
    let ms = 0;
    let checked = 0;
    let bad = 0;
    const tally = (r: CheckResult) => {
      if (!r.ok || r.signature !== want) bad++;
      checked++;
    };
    let first: Promise<void> | undefined;
    const sub = watcher.subscribe(subject, {
      max: o.perPass + 1,
      callback: (_err, m) => {
        void m.headers;
        void m.subject;
        if (!first) {
          first = v.check(m).then(tally); // the lease lookup: untimed
          return;
        }
        const start = performance.now();
        const r = v.check(m);
        ms += performance.now() - start;
        void r.then(tally);
      },
    });
    await watcher.flush();
    await node.publish(subject, PAYLOAD, { signed: o.signed });
    await node.nats.flush();
    await within(
      'the first check',
      10_000,
      (async () => {
        while (!first) await new Promise((ok) => setTimeout(ok, 5));
        await first;
      })(),
    );
    for (let i = 0; i < o.perPass; i++) {
      await node.publish(subject, PAYLOAD, { signed: o.signed });
      if (i % BATCH === BATCH - 1) await node.nats.flush();
    }
    await node.nats.flush();
    await within(`checking ${o.perPass} messages`, 60_000, sub.closed);
    await new Promise((ok) => setImmediate(ok)); // the last results' callbacks
    if (bad > 0 || checked !== o.perPass + 1) {
      throw new Error(`${bad} of ${checked} checks (of ${o.perPass + 1} sent) were not ok with signature ${want}`);
    }
    if (p > 0) best = Math.max(best, o.perPass / (ms / 1000)); // pass 0 is the warm-up
    lookups = v.lookups;
  }
  return { perSecond: best, lookups, count: o.perPass };
}

/** A variant's name and one batch of it: BATCH publishes, then a flush. */
type Variant = [string, () => Promise<void>];

/**
 * NodeLease.publish against nats.js publishing on the very connection the lease's handle uses
 * (one socket, one set of connection options, the same flush every BATCH): plain, as the target
 * names it; with a nats.js headers() object carrying the same two headers with a fresh ID each,
 * which is what stamping by hand costs (the fair peer); and with a prebuilt block of the stamp's
 * bytes, which is what nats.js `publish` spends to carry them (the ceiling for stamping through
 * it; NodeLease hands nats.js whole frames instead, stamp-frame.ts). With `awaited`, also
 * NodeLease.publish awaited one by one. Returns stamped / plain.
 */
async function publishRates(
  node: NodeLease,
  size: number,
  o: { publish: MeasureOptions; slices: number },
  awaited: boolean,
): Promise<number> {
  const subject = `ids.${node.lease.pool}.${node.lease.node}.publish`;
  const payload = new Uint8Array(size).fill(120);
  const nc = node.nats.connection!;
  const block = new StampHeaders(node.nextIdString()).encode();
  const prebuilt = { encode: () => block } as unknown as MsgHdrs;
  const variants: Variant[] = [
    [
      'plain nats.js publish',
      async () => {
        for (let i = 0; i < BATCH; i++) nc.publish(subject, payload);
        await nc.flush();
      },
    ],
    [
      'nats.js publish + headers() with both IDs',
      async () => {
        for (let i = 0; i < BATCH; i++) {
          const id = node.nextIdString();
          const h = headers();
          h.set('Snowflake-Id', id);
          h.set('Nats-Msg-Id', id);
          nc.publish(subject, payload, { headers: h });
        }
        await nc.flush();
      },
    ],
    [
      `nats.js publish + a prebuilt ${block.length}-byte block`,
      async () => {
        for (let i = 0; i < BATCH; i++) nc.publish(subject, payload, { headers: prebuilt });
        await nc.flush();
      },
    ],
    [
      'NodeLease.publish (Snowflake-Id + Nats-Msg-Id)',
      async () => {
        // Not awaited one by one: an await yields to the event loop, where nats.js writes what it
        // has buffered, so each message would go out in a socket write of its own.
        for (let i = 0; i < BATCH; i++) void node.publish(subject, payload);
        await nc.flush();
      },
    ],
  ];
  if (awaited) {
    variants.push([
      'NodeLease.publish, each awaited',
      async () => {
        for (let i = 0; i < BATCH; i++) await node.publish(subject, payload);
        await nc.flush();
      },
    ]);
  }
  const rates = await measureInterleaved(
    variants.map(([, op]) => op),
    o.publish,
    o.slices,
  );
  const msgs = (r: Rate): Rate => ({ ops: r.ops * BATCH, seconds: r.seconds, perSecond: r.perSecond * BATCH });
  console.log(
    `\nPublishing ${size}-byte messages to nats-server on one connection, ${BATCH} between flushes ` +
      `(${o.publish.durationMs / 1000} s each in ${o.slices} alternating slices)`,
  );
  console.log(
    table([
      ['publish', 'messages/s', 'vs plain', 'measured'],
      ...variants.map(([name], i) => rateRow(name, msgs(rates[i]!), msgs(rates[0]!))),
    ]),
  );
  const [plain, byHand, ceiling, stamped] = rates.map((r) => r.perSecond) as [number, number, number, number];
  // `HPUB subj hlen len` over `PUB subj len`, and the block: what every stamped message carries.
  const extra =
    1 + String(block.length).length + 1 + String(size + block.length).length - String(size).length + block.length;
  console.log(
    `the stamp adds ${extra} bytes a message (a ${block.length}-byte header block, HPUB over PUB) to ${size} of payload\n` +
      `stamped / plain = ${percent(stamped / plain)} at ${size} bytes (target ≥ 90%); ` +
      `stamped / nats.js headers() = ${percent(stamped / byHand)} (the fair peer); ` +
      `nats.js publish carrying those bytes leaves at most ${percent(ceiling / plain)} of plain`,
  );
  return stamped / plain;
}

export async function fabricBench(
  cleanup: Cleanup,
  o: {
    checkedPerPass: number;
    signedPerPass: number;
    passes: number;
    publish: MeasureOptions;
    slices: number;
    payloadSizes: number[];
  },
): Promise<FabricFigures> {
  // Its leases last 10 minutes: no renewal (and so no NATS rotation) lands inside a measured window.
  const reg = await startRegistry(cleanup);
  const node = await NodeLease.acquire({ registry: reg.url, token: reg.token, instance: 'bench', nats: true });
  cleanup.defer(() => node.close());
  const watcher = await connect({
    servers: reg.natsUrl,
    authenticator: credsAuthenticator(new TextEncoder().encode(node.credentials!.creds)),
  });
  cleanup.defer(() => watcher.close());

  // (b) the verifier
  const cached = await checkRate(reg, node, watcher, { passes: o.passes, perPass: o.checkedPerPass, signed: false });
  const signed = await checkRate(reg, node, watcher, { passes: o.passes, perPass: o.signedPerPass, signed: true });
  console.log(
    `\nLineageVerifier.check on received messages (each message as it arrives; best of ${o.passes} passes after a warm-up one, a fresh verifier each)`,
  );
  console.log(
    table([
      ['check', 'checks/s of check time', 'messages a pass', 'lineage lookups'],
      ['cached lineage, unsigned', rate(cached), String(cached.count), String(cached.lookups)],
      ['cached lineage, Ed25519 signature verified', rate(signed), String(signed.count), String(signed.lookups)],
    ]),
  );
  console.log(`cached lineage: ${rate(cached)} checks/s (target ≥ 1,000,000); signed: ${rate(signed)}/s`);

  // (c) stamped against plain publishing, the same subject, payload and connection.
  const ratios: number[] = [];
  for (const size of o.payloadSizes) ratios.push(await publishRates(node, size, o, size === o.payloadSizes[0]));
  return { checksPerSecond: cached.perSecond, signedChecksPerSecond: signed.perSecond, stampedOverPlain: ratios[0]! };
}
