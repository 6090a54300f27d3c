import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from './exit.js';
import { shellQuote } from './options.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create NATS operator, accounts and signing key, and a nats-server.conf for them')
    .requiredOption('--out <dir>', 'folder for the key material and nats-server.conf (nats.dir in the config)')
    .option(
      '--key-encryption-key',
      'only add the key-encryption key (nats.keyEncryptionKeyFile) to a folder made before it existed',
    )
    .option(
      '--auth-callout',
      'also an AUTH account that hands NATS connects to snowgate (nats-server 2.10+), its callout user, xkey and sentinel creds',
    )
    .action(async (flags: { out: string; keyEncryptionKey?: boolean; authCallout?: boolean }) => {
      const nats = await import('../nats/init.js');
      const out = path.resolve(flags.out);
      let files: string[];
      try {
        if (flags.keyEncryptionKey) {
          const { file } = await nats.addKek(out);
          process.stdout.write(
            `wrote (0600) ${file}\n\nit seals the NATS signing-key seeds in the registry's store: give every replica this same file\n`,
          );
          return;
        }
        ({ files } = await nats.initNats(out, { authCallout: flags.authCallout === true }));
      } catch (e) {
        // Overwriting keys would orphan every account and user issued under them.
        if (e instanceof nats.InitRefused) throw new UsageError(`--out: ${e.file} exists; not overwriting NATS keys`);
        if (flags.keyEncryptionKey) throw new UsageError(`--out: ${(e as Error).message}`);
        throw e;
      }
      const conf = path.join(out, 'nats-server.conf');
      process.stdout.write(
        [
          `wrote (0600 for keys):`,
          ...files.map((f) => `  ${f}`),
          '',
          'run NATS with:',
          `  nats-server -c ${shellQuote(conf)} -a 127.0.0.1 -p 4222`,
          '',
          'and point the registry at it:',
          `  nats: { dir: ${JSON.stringify(out)}, servers: [nats://127.0.0.1:4222] }`,
          '',
          `every replica needs ${path.join(out, 'key-encryption.key')} (nats.keyEncryptionKeyFile): it seals the`,
          "signing-key seeds in the registry's store; a copy of the store without it signs nothing",
          '',
          ...(flags.authCallout
            ? [
                'auth callout (needs nats-server 2.10+): set nats.authCallout: true; clients connect with',
                `${path.join(out, 'sentinel.creds')} (a deny-all user, safe to hand out) plus their OIDC token`,
                '',
              ]
            : []),
        ].join('\n'),
      );
    });
}
