import type { Command } from 'commander';
import { adminCall, seg } from './admin-client.js';
import { parseNonNegativeInt } from './options.js';

export function registerAdminMappings(admin: Command): void {
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
