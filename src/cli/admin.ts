import { Option, type Command } from 'commander';
import { registerAdminAudit } from './admin-audit.js';
import { registerAdminKeys } from './admin-keys.js';
import { registerAdminLeases } from './admin-leases.js';
import { registerAdminMappings } from './admin-mappings.js';
import { parseBaseUrl } from './options.js';

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
    .addOption(new Option('--token <token>', 'admin bearer token').env('SNOWGATE_TOKEN').makeOptionMandatory());
  registerAdminMappings(admin);
  registerAdminLeases(admin);
  registerAdminKeys(admin);
  registerAdminAudit(admin);
}
