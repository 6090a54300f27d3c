import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from './exit.js';
import { parseBaseUrl, parseNonNegativeInt } from './options.js';
import { shutdownSignal } from './signals.js';
import { tokenFromCommand, tokenFromFile } from './token-source.js';

interface LeaseFlags {
  registry: string;
  tokenFile?: string;
  tokenCmd?: string;
  tokenAwsIam?: string;
  stsEndpoint?: string;
  pool?: string;
  instance?: string;
  node?: number;
  credsFile?: string;
  once?: boolean;
}

function parseInstance(value: string): string {
  // Checked here too so a typo fails before a token is spent (CONTRACT §4 instance).
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(value)) throw new InvalidArgumentError('1-128 letters, digits and ._:-');
  return value;
}

/** Loaded only when asked for: the AWS SDK's credential chain is not needed otherwise. */
async function awsIam(serverId: string, stsEndpoint: string | undefined) {
  const { awsIamToken } = await import('../client/aws-iam-token.js');
  try {
    return awsIamToken({ serverId, ...(stsEndpoint ? { stsEndpoint } : {}) });
  } catch (e) {
    throw new UsageError(`--sts-endpoint: ${(e as Error).message}`);
  }
}

export function registerLease(program: Command): void {
  program
    .command('lease')
    .description('acquire a node lease, print it as JSON, keep it renewed and release it on exit')
    .addOption(
      new Option('--registry <url>', 'registry base URL')
        .env('SNOWGATE_REGISTRY')
        .argParser(parseBaseUrl)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--token-file <file>', 'file holding the bearer token, re-read before every request'))
    .addOption(
      new Option(
        '--token-cmd <command>',
        'shell command printing the bearer token, run before every request',
      ).conflicts('tokenFile'),
    )
    .addOption(
      new Option(
        '--token-aws-iam <server-id>',
        'an aws-iam issuer: sign sts:GetCallerIdentity for this server id with the default AWS credentials, before every request',
      ).conflicts(['tokenFile', 'tokenCmd']),
    )
    .option('--sts-endpoint <url>', 'the STS endpoint the aws-iam issuer names (default https://sts.amazonaws.com)')
    .option('--pool <name>', 'pool to lease in (the registry defaults to "default")')
    .addOption(
      new Option('--instance <id>', 'this process, so a restart supersedes its old lease').argParser(parseInstance),
    )
    .addOption(new Option('--node <n>', 'ask for this node').argParser(parseNonNegativeInt))
    .option('--creds-file <file>', 'keep the NATS credentials in this file (0600, replaced atomically)')
    .option('--once', 'print the lease and exit: no renewal, no release')
    .action(async (flags: LeaseFlags) => {
      const token = flags.tokenFile
        ? tokenFromFile(flags.tokenFile)
        : flags.tokenCmd
          ? tokenFromCommand(flags.tokenCmd)
          : flags.tokenAwsIam
            ? await awsIam(flags.tokenAwsIam, flags.stsEndpoint)
            : undefined;
      if (!token) throw new UsageError('--token-file, --token-cmd or --token-aws-iam is required');
      if (flags.credsFile) {
        // Found out now, not after a lease is granted and has to be given back.
        const dir = path.dirname(path.resolve(flags.credsFile));
        await access(dir, constants.W_OK).catch(() => {
          throw new UsageError(`--creds-file: cannot write in ${dir}`);
        });
        // The file is replaced by rename, which cannot put a file where a folder is.
        if ((await stat(flags.credsFile).catch(() => undefined))?.isDirectory()) {
          throw new UsageError(`--creds-file: ${flags.credsFile} is a directory; give a file path`);
        }
      }
      // Loaded here: the NATS key libraries are not needed to print help or decode an ID.
      const { keepLease } = await import('./lease-keeper.js');
      await keepLease({
        registry: flags.registry,
        token,
        request: { pool: flags.pool, instance: flags.instance, node: flags.node },
        credsFile: flags.credsFile,
        once: flags.once === true,
        // --once ends by itself; only a kept lease needs SIGINT/SIGTERM to mean "release".
        signal: flags.once ? new AbortController().signal : shutdownSignal(),
        print: (line) => process.stdout.write(`${line}\n`),
        log: (line) => process.stderr.write(`snowgate lease: ${line}\n`),
      });
    });
}
