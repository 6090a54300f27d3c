import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { DevNats } from './dev-nats.js';
import { devClients, devSecrets } from './dev-secrets.js';
import { walkthrough } from './dev-walkthrough.js';
import { parsePort } from './options.js';
import { shutdownSignal, untilAborted } from './signals.js';

interface DevFlags {
  data: string;
  port: number;
  issuerPort: number;
  natsPort: number;
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run everything on loopback for development: registry on SQLite, a dev OIDC issuer, nats-server')
    .option('--data <dir>', 'state: database, keys, client secrets', './data')
    .option('--port <n>', 'registry port', parsePort, 8080)
    // Fixed, not random: the issuer URL is in every token and in the printed commands.
    .option('--issuer-port <n>', 'dev issuer port', parsePort, 8081)
    // Fixed too, so a NATS client can reconnect across a restart; 4222 is left to a system nats-server.
    .option('--nats-port <n>', 'nats-server port (0: any free port)', parsePort, 4223)
    .action(async (f: DevFlags) => {
      const stop = shutdownSignal();
      const { devConfig } = await import('./dev-config.js');
      const { startDevNats } = await import('./dev-nats.js');
      const dataDir = path.resolve(f.data);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const secrets = await devSecrets(dataDir);

      // Undone in reverse order on the way out, whether start-up finished or not.
      const cleanup: (() => Promise<void>)[] = [];
      try {
        const { startDevIssuer } = await import('../identity/dev-issuer.js');
        const issuer = await startDevIssuer({
          port: f.issuerPort,
          jwksFile: path.join(dataDir, 'dev-issuer-jwks.json'),
          clients: devClients(secrets),
          // The console's one-click sign-in: whoever opens it on this machine is dev-admin.
          browserClients: [
            {
              clientId: 'snowgate-console',
              redirectUris: ['127.0.0.1', 'localhost'].map((h) => `http://${h}:${f.port}/ui/auth/callback`),
              accountId: 'dev-admin',
              claims: { groups: ['snowgate-admins'] },
            },
          ],
        });
        cleanup.push(() => issuer.close());

        const nats: DevNats | undefined = await startDevNats(dataDir, f.natsPort);
        if (nats) cleanup.push(() => nats.stop());
        else
          process.stderr.write(
            'snowgate dev: nats-server is not on PATH (apt-get install nats-server); going on without NATS\n',
          );

        const config = devConfig({
          dataDir,
          issuer: issuer.issuer,
          port: f.port,
          ...(nats ? { nats: { dir: nats.dir, url: nats.url, authCallout: nats.callout !== undefined } } : {}),
        });
        const { startServer } = await import('../main.js');
        const server = await startServer(config);
        cleanup.push(() => server.close());

        process.stdout.write(
          walkthrough({
            registry: server.url,
            issuer: issuer.issuer,
            tokenEndpoint: issuer.tokenEndpoint,
            dataDir,
            cwd: process.cwd(),
            secrets,
            ...(nats
              ? {
                  nats: {
                    url: nats.url,
                    logFile: nats.logFile,
                    version: nats.version,
                    ...(nats.callout ? { sentinelFile: nats.callout.sentinelFile } : {}),
                  },
                }
              : {}),
          }),
        );
        await untilAborted(stop);
      } finally {
        for (const undo of cleanup.reverse()) {
          await undo().catch((e: unknown) => process.stderr.write(`snowgate dev: stopping: ${String(e)}\n`));
        }
      }
    });
}
