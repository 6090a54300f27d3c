/**
 * `snowgate watch SUBJECT`: a live tail of stamped messages for debugging order across nodes.
 * Each message is checked (CONTRACT §6) and shown with its ID, time, node, holder and flags;
 * `--stream S --since-id ID` replays a JetStream stream from the instant the ID encodes.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { Option, type Command } from 'commander';
import { decodeId } from '../client/decode.js';
import { NodeLease } from '../client/node-lease.js';
import { LineageVerifier, type CheckedMessage, type VerifierOptions } from '../client/verifier.js';
import type { LayoutJson } from '../client/wire.js';
import type { Layout } from '../snowflake/layout.js';
import { DEFAULT_LAYOUT } from '../snowflake/layout.js';
import { UsageError } from './exit.js';
import { parseBaseUrl, parseInstant, parseLayout, parsePositiveInt } from './options.js';
import { shutdownSignal, untilAborted } from './signals.js';
import { tokenFromCommand, tokenFromFile } from './token-source.js';
import { jsonLine, Tally, textLine } from './watch-format.js';

interface WatchFlags {
  creds?: string;
  registry?: string;
  tokenFile?: string;
  tokenCmd?: string;
  server?: string[];
  pool?: string;
  epoch?: number;
  layout?: Layout;
  template: string;
  json?: boolean;
  stream?: string;
  sinceId?: string;
  count?: number;
}

/** Messages from wherever they come, and how to stop. */
interface Source {
  messages: AsyncIterable<CheckedMessage & { data: Uint8Array }>;
  close(): Promise<void>;
}

function servers(f: WatchFlags): string[] {
  return f.server ?? (process.env.NATS_URL ? process.env.NATS_URL.split(',') : ['nats://127.0.0.1:4222']);
}

async function open(
  f: WatchFlags,
  subject: string,
  token: (() => Promise<string>) | undefined,
  layouts: () => Promise<Record<string, LayoutJson>>,
): Promise<Source> {
  let nc;
  let lease: NodeLease | undefined;
  if (f.creds) {
    const file = f.creds;
    // Read at every connect: `snowgate lease --creds-file` rewrites it at each renewal.
    nc = await connect({
      servers: servers(f),
      authenticator: credsAuthenticator(() => readFileSync(file)),
      name: 'snowgate watch',
    });
  } else {
    // Without a creds file, the token buys a lease and its credentials: the watcher holds a node.
    lease = await NodeLease.acquire({
      registry: f.registry!,
      token: token!,
      pool: f.pool,
      instance: `watch-${os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-')}-${process.pid}`.slice(0, 128),
      nats: f.server ? { servers: f.server } : true,
    });
    nc = lease.nats.connection!;
  }
  const close = async (): Promise<void> => {
    if (lease) await lease.close();
    else await nc.drain();
  };
  try {
    if (!f.stream) {
      const messages = lease ? lease.nats.subscribe(subject) : nc.subscribe(subject);
      return { messages, close };
    }
    const pools = await layouts();
    const layout = pools[f.pool ?? 'default'] ?? Object.values(pools)[0];
    if (!layout) throw new UsageError('--since-id: no pool layout to decode it with');
    const from = decodeId(f.sinceId!, layout).timestamp;
    const js = jetstream(nc);
    // A string, not an array: nats.js then sends filter_subject, which nats-server 2.9 knows.
    const consumer = await js.consumers.get(f.stream, { filter_subjects: subject, opt_start_time: from.toISOString() });
    return { messages: await consumer.consume(), close };
  } catch (e) {
    await close();
    throw e;
  }
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('tail stamped messages on a subject, checking order, duplicates, nodes, holders and signatures')
    .argument('<subject>', 'NATS subject, wildcards allowed (e.g. "ids.default.>")')
    .addOption(new Option('--creds <file>', 'connect with this NATS creds file (re-read at each connect)'))
    .addOption(
      new Option('--registry <url>', 'the registry: holders from /v1/lineage, layouts from /v1/pools')
        .argParser(parseBaseUrl)
        .env('SNOWGATE_REGISTRY'),
    )
    .addOption(new Option('--token-file <file>', 'bearer token for --registry, re-read before every request'))
    .addOption(new Option('--token-cmd <command>', 'shell command printing the bearer token').conflicts('tokenFile'))
    .addOption(
      new Option('--server <url...>', "NATS servers (default: the lease's, or NATS_URL, or nats://127.0.0.1:4222)"),
    )
    .option('--pool <name>', "the pool of subjects that name none, and the watcher's lease pool")
    .addOption(
      new Option('--epoch <time>', 'pool epoch, RFC 3339, when there is no --registry').argParser(parseInstant),
    )
    .addOption(
      new Option('--layout <bits>', 'timestamp/node/sequence bits with --epoch (default 41/10/12)').argParser(
        parseLayout,
      ),
    )
    .option(
      '--template <subject>',
      'where subjects put {pool} and {node}, as the publish permission template',
      'ids.{pool}.{node}.>',
    )
    .option('--json', 'one JSON object per message, and a summary object on exit')
    .option('--stream <name>', 'replay this JetStream stream (with --since-id)')
    .option('--since-id <id>', 'replay from the instant this Snowflake ID encodes')
    .addOption(new Option('--count <n>', 'exit after this many messages').argParser(parsePositiveInt))
    .action(async (subject: string, f: WatchFlags) => {
      if (!f.creds && !f.registry)
        throw new UsageError('watch needs --creds, or --registry with --token-file or --token-cmd');
      const token = f.tokenFile ? tokenFromFile(f.tokenFile) : f.tokenCmd ? tokenFromCommand(f.tokenCmd) : undefined;
      if (f.registry && !token) throw new UsageError('--registry needs --token-file or --token-cmd');
      if (!f.registry && f.epoch === undefined)
        throw new UsageError('without --registry, give the pool layout: --epoch (and --layout)');
      if ((f.stream === undefined) !== (f.sinceId === undefined))
        throw new UsageError('--stream and --since-id go together');
      if (f.sinceId !== undefined && !/^\d{1,20}$/.test(f.sinceId))
        throw new UsageError('--since-id: an ID is a decimal string');

      const offline: Record<string, LayoutJson> | undefined =
        f.epoch !== undefined
          ? { [f.pool ?? 'default']: { epoch: new Date(f.epoch).toISOString(), ...(f.layout ?? DEFAULT_LAYOUT) } }
          : undefined;
      const options: VerifierOptions = { subjectTemplate: f.template, ...(offline ? { pools: offline } : {}) };
      if (f.registry) Object.assign(options, { registry: f.registry, token });
      if (f.pool) options.pool = f.pool;
      const verifier = new LineageVerifier(options);
      const layouts = async () => offline ?? (await verifier.layouts());

      const stop = shutdownSignal();
      const source = await open(f, subject, token, layouts);
      const tally = new Tally();
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const reading = (async () => {
        for await (const m of source.messages) {
          const r = await verifier.check(m);
          tally.add(r);
          out(f.json ? jsonLine(m.subject, r, m.data.length) : textLine(m.subject, r));
          if (f.count !== undefined && tally.messages >= f.count) return;
        }
      })();
      await Promise.race([reading, untilAborted(stop)]);
      await source.close();
      if (f.json) out(tally.json());
      else process.stderr.write(`snowgate watch: ${tally.text()}\n`);
    });
}
