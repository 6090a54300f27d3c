import type { Command } from 'commander';
import { adminCall } from './admin-client.js';

export function registerAdminKeys(admin: Command): void {
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
