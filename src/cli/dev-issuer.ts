import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { devClients, devSecrets } from './dev-secrets.js';
import { shellQuote, parsePort } from './options.js';
import { shutdownSignal, untilAborted } from './signals.js';

interface Flags {
  data: string;
  port: number;
  listen?: string;
}

/**
 * The dev OIDC issuer of `snowgate dev` on its own, for a registry that runs elsewhere on the
 * same loopback: docker-compose.yml's dev profile runs it in the registry container's network
 * namespace, so `docker compose --profile dev up` needs no outside identity provider.
 */
export function registerDevIssuer(program: Command): void {
  program
    .command('dev-issuer')
    .description('run only the development OIDC issuer (clients dev-service and dev-admin), for development')
    .option('--data <dir>', 'its signing keys and client secrets', './data')
    .option('--port <n>', 'port; the issuer URL is http://127.0.0.1:PORT', parsePort, 8081)
    .option(
      '--listen <address>',
      'address to bind, when not 127.0.0.1 (0.0.0.0 in a container: see docker-compose.yml)',
    )
    .action(async (f: Flags) => {
      const stop = shutdownSignal();
      const dataDir = path.resolve(f.data);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const secrets = await devSecrets(dataDir);
      const { startDevIssuer } = await import('../identity/dev-issuer.js');
      const issuer = await startDevIssuer({
        port: f.port,
        ...(f.listen ? { listen: f.listen } : {}),
        jwksFile: path.join(dataDir, 'dev-issuer-jwks.json'),
        clients: devClients(secrets),
      });
      const token = (client: string, secret: string) =>
        `curl -s -u ${shellQuote(`${client}:${secret}`)} -d grant_type=client_credentials ${issuer.tokenEndpoint}`;
      process.stdout.write(
        [
          `snowgate dev-issuer: ${issuer.issuer} (audience snowgate)`,
          `  a workload token: ${token('dev-service', secrets.service)}`,
          `  an admin token:   ${token('dev-admin', secrets.admin)}`,
          '',
        ].join('\n'),
      );
      await untilAborted(stop);
      await issuer.close();
    });
}
