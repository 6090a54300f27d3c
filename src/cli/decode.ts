import { InvalidArgumentError, Option, type Command } from 'commander';
import { decodeId, parseIdString } from '../snowflake/codec.js';
import { DEFAULT_LAYOUT, type Layout } from '../snowflake/layout.js';
import { UsageError } from './exit.js';
import { parseBaseUrl, parseInstant, parseLayout } from './options.js';
import { call } from './registry-client.js';
import { staticToken, tokenFromFile } from './token-source.js';

interface DecodeFlags {
  pool: string;
  registry?: string;
  token?: string;
  tokenFile?: string;
  epoch?: number;
  layout?: Layout;
}

interface PoolInfo {
  name: string;
  layout: Layout & { epoch: string };
}

function parseId(value: string): bigint {
  try {
    return parseIdString(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The pool's epoch and layout from the registry, so IDs decode without knowing them by heart. */
async function poolLayout(f: DecodeFlags & { registry: string }): Promise<{ epochMs: number; layout: Layout }> {
  const token = f.token !== undefined ? staticToken(f.token) : f.tokenFile ? tokenFromFile(f.tokenFile) : undefined;
  if (!token) throw new UsageError('--registry needs --token or --token-file');
  const pools = (await call<PoolInfo[]>(f.registry, 'GET', '/v1/pools', { token: await token() })) ?? [];
  const pool = pools.find((p) => p.name === f.pool);
  if (!pool) throw new UsageError(`--pool: the registry has no pool "${f.pool}"`);
  const { epoch, timestampBits, nodeBits, sequenceBits } = pool.layout;
  return { epochMs: Date.parse(epoch), layout: { timestampBits, nodeBits, sequenceBits } };
}

export function registerDecode(program: Command): void {
  const offline = ['epoch', 'layout'];
  program
    .command('decode')
    .description("print a Snowflake ID's timestamp, node and sequence as JSON")
    .argument('<id>', 'the ID, a decimal string', parseId)
    .addOption(
      new Option('--registry <url>', 'read the layout from this registry').argParser(parseBaseUrl).conflicts(offline),
    )
    // Refused with --epoch rather than ignored: a pool name there would look like it chose the layout.
    .addOption(
      new Option('--pool <name>', 'the pool the ID belongs to (with --registry)').default('default').conflicts(offline),
    )
    .addOption(new Option('--token <token>', 'bearer token for --registry').conflicts('tokenFile'))
    .option('--token-file <file>', 'file holding the bearer token for --registry')
    .addOption(new Option('--epoch <time>', 'the pool epoch, RFC 3339').argParser(parseInstant))
    .addOption(new Option('--layout <bits>', 'timestamp/node/sequence bits (default: 41/10/12)').argParser(parseLayout))
    .action(async (id: bigint, f: DecodeFlags) => {
      let epochMs: number;
      let layout: Layout;
      if (f.registry) {
        ({ epochMs, layout } = await poolLayout({ ...f, registry: f.registry }));
      } else if (f.epoch !== undefined) {
        epochMs = f.epoch;
        layout = f.layout ?? DEFAULT_LAYOUT;
      } else {
        throw new UsageError('decode needs --epoch (and --layout), or --registry and --pool');
      }
      let fields;
      try {
        fields = decodeId(layout, epochMs, id);
      } catch (e) {
        throw new UsageError(`<id>: ${(e as Error).message}`);
      }
      const at = new Date(fields.timestampMs);
      if (Number.isNaN(at.getTime())) throw new UsageError('<id>: its timestamp is beyond what a date can show');
      const out = {
        id: id.toString(),
        ...(f.registry ? { pool: f.pool } : {}),
        timestamp: at.toISOString(),
        node: fields.node,
        sequence: fields.sequence,
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
}
