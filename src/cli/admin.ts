/** `snowgate admin`: a thin client of the admin API (CONTRACT §4), one sub-command per route. */
import { Option, type Command } from 'commander';
import { UsageError } from './exit.js';
import { parseBaseUrl, parseNonNegativeInt, parsePositiveInt } from './options.js';
import { call, type CallOptions } from './registry-client.js';
import { staticToken, tokenFromFile, type TokenSource } from './token-source.js';

interface AdminFlags {
  registry: string;
  token?: string;
  tokenFile?: string;
}

/**
 * The token flags, checked before any request. Not commander's `conflicts`: it counts
 * SNOWGATE_TOKEN as given, and an explicit --token-file should simply win over the environment.
 */
function checkTokenFlags(admin: Command): void {
  const { token, tokenFile } = admin.opts<AdminFlags>();
  if (tokenFile !== undefined && token !== undefined && admin.getOptionValueSource('token') === 'cli') {
    throw new UsageError('--token-file: give --token or --token-file, not both');
  }
  if (tokenFile === undefined && token === undefined) {
    throw new UsageError('--token-file or --token (or SNOWGATE_TOKEN) is required');
  }
}

function tokenOf(f: AdminFlags): TokenSource {
  return f.tokenFile !== undefined ? tokenFromFile(f.tokenFile) : staticToken(f.token ?? '');
}

/**
 * Calls an admin route with the `admin` command's --registry and token (whose flags may also come
 * after the group name) and prints the answer as pretty JSON. A 204 prints nothing.
 */
async function adminCall(
  cmd: Command,
  method: string,
  route: string,
  o: Pick<CallOptions, 'body' | 'query'> = {},
): Promise<void> {
  const f = cmd.optsWithGlobals<AdminFlags>();
  const body = await call(f.registry, method, route, { ...o, token: await tokenOf(f)() });
  if (body !== undefined) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

/** A path segment, escaped so a pool or lease id cannot reach another route. */
const seg = (s: string | number): string => encodeURIComponent(String(s));

function registerMappings(admin: Command): void {
  const mappings = admin.command('mappings').description('pins of nodes to principals (lists by default)');
  mappings
    .command('list', { isDefault: true })
    .description('list pins')
    .option('--pool <name>', 'only this pool')
    .action((f: { pool?: string }, cmd: Command) =>
      adminCall(cmd, 'GET', '/v1/admin/mappings', { query: { pool: f.pool } }),
    );
  mappings
    .command('set')
    .description('pin NODE of POOL to a principal')
    .argument('<pool>')
    .argument('<node>', 'node number', parseNonNegativeInt)
    .requiredOption('--issuer <name>', "the principal's issuer name (as configured)")
    .requiredOption('--subject <subject>', "the principal's subject")
    .option('--note <text>', 'why, for the next admin')
    .action((pool: string, node: number, f: { issuer: string; subject: string; note?: string }, cmd: Command) =>
      adminCall(cmd, 'PUT', `/v1/admin/mappings/${seg(pool)}/${seg(node)}`, {
        body: { issuer: f.issuer, subject: f.subject, ...(f.note !== undefined ? { note: f.note } : {}) },
      }),
    );
  mappings
    .command('delete')
    .description('unpin NODE of POOL')
    .argument('<pool>')
    .argument('<node>', 'node number', parseNonNegativeInt)
    .action((pool: string, node: number, _f: unknown, cmd: Command) =>
      adminCall(cmd, 'DELETE', `/v1/admin/mappings/${seg(pool)}/${seg(node)}`),
    );
}

interface LeaseListFlags {
  pool?: string;
  issuer?: string;
  subject?: string;
  state?: string;
}

function registerLeases(admin: Command): void {
  const leases = admin.command('leases').description('leases, active and ended (lists by default)');
  leases
    .command('list', { isDefault: true })
    .description('list leases')
    .option('--pool <name>', 'only this pool')
    .option('--issuer <name>', 'only principals of this issuer')
    .option('--subject <subject>', 'only this subject')
    .addOption(new Option('--state <state>', 'only active or ended leases').choices(['active', 'ended']))
    .action((f: LeaseListFlags, cmd: Command) =>
      adminCall(cmd, 'GET', '/v1/admin/leases', {
        query: { pool: f.pool, issuer: f.issuer, subject: f.subject, state: f.state },
      }),
    );
  leases
    .command('revoke')
    .description('end a lease now; its NATS user is revoked')
    .argument('<id>', 'lease id')
    .option('--reason <text>', 'recorded in the audit log')
    .action((id: string, f: { reason?: string }, cmd: Command) =>
      adminCall(cmd, 'POST', `/v1/admin/leases/${seg(id)}/revoke`, {
        body: f.reason !== undefined ? { reason: f.reason } : {},
      }),
    );
  leases
    .command('revoke-principal')
    .description('end every lease of a principal')
    .requiredOption('--issuer <name>', "the principal's issuer name")
    .requiredOption('--subject <subject>', "the principal's subject")
    .option('--reason <text>', 'recorded in the audit log')
    .action((f: { issuer: string; subject: string; reason?: string }, cmd: Command) =>
      adminCall(cmd, 'POST', '/v1/admin/principals/revoke', {
        body: { issuer: f.issuer, subject: f.subject, ...(f.reason !== undefined ? { reason: f.reason } : {}) },
      }),
    );
}

function registerKeys(admin: Command): void {
  const keys = admin.command('keys').description('NATS account signing keys (lists by default)');
  keys
    .command('list', { isDefault: true })
    .description('list signing keys')
    .action((_f: unknown, cmd: Command) => adminCall(cmd, 'GET', '/v1/admin/keys'));
  keys
    .command('rotate')
    .description('add a new signing key and sign with it from now on')
    .action((_f: unknown, cmd: Command) => adminCall(cmd, 'POST', '/v1/admin/keys/rotate', { body: {} }));
}

function registerAudit(admin: Command): void {
  admin
    .command('audit')
    .description('read the audit log, oldest first')
    .option('--after <id>', 'only entries after this id (page on with the last id seen)', parseNonNegativeInt)
    .option('--limit <n>', 'at most this many entries', parsePositiveInt)
    .action((f: { after?: number; limit?: number }, cmd: Command) =>
      adminCall(cmd, 'GET', '/v1/admin/audit', { query: { after: f.after, limit: f.limit } }),
    );
}

export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description('manage pins, leases, NATS signing keys and read the audit log (admin API)')
    .addOption(
      new Option('--registry <url>', 'registry base URL')
        .env('SNOWGATE_REGISTRY')
        .argParser(parseBaseUrl)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--token-file <file>', 'file holding the admin bearer token'))
    // Other local users can read a command line (ps): --token-file keeps the token out of it.
    .addOption(
      new Option('--token <token>', 'admin bearer token (shows in ps; prefer --token-file)').env('SNOWGATE_TOKEN'),
    )
    // On the admin command, so it runs for every sub-command's action, before any request.
    .hook('preAction', (thisCommand) => checkTokenFlags(thisCommand));
  registerMappings(admin);
  registerLeases(admin);
  registerKeys(admin);
  registerAudit(admin);
}
