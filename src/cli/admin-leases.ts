import { Option, type Command } from 'commander';
import { adminCall, seg } from './admin-client.js';

interface ListFlags {
  pool?: string;
  issuer?: string;
  subject?: string;
  state?: string;
}

export function registerAdminLeases(admin: Command): void {
  const leases = admin.command('leases').description('leases, active and ended (lists by default)');
  leases
    .command('list', { isDefault: true })
    .description('list leases')
    .option('--pool <name>', 'only this pool')
    .option('--issuer <name>', 'only principals of this issuer')
    .option('--subject <subject>', 'only this subject')
    .addOption(new Option('--state <state>', 'only active or ended leases').choices(['active', 'ended']))
    .action((f: ListFlags, cmd: Command) =>
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
