import type { Command } from 'commander';
import { adminCall } from './admin-client.js';
import { parseNonNegativeInt, parsePositiveInt } from './options.js';

export function registerAdminAudit(admin: Command): void {
  admin
    .command('audit')
    .description('read the audit log, oldest first')
    .option('--after <id>', 'only entries after this id (page on with the last id seen)', parseNonNegativeInt)
    .option('--limit <n>', 'at most this many entries', parsePositiveInt)
    .action((f: { after?: number; limit?: number }, cmd: Command) =>
      adminCall(cmd, 'GET', '/v1/admin/audit', { query: { after: f.after, limit: f.limit } }),
    );
}
