import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { asUsageError, UsageError } from './exit.js';
import { shutdownSignal, untilAborted } from './signals.js';

const DEFAULT_CONFIG = 'config/snowgate.yaml';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the registry')
    .option('--config <file>', `configuration, YAML or JSON (default: ${DEFAULT_CONFIG} when present)`)
    .option('--check', 'check the configuration and exit: 0 when it loads, 2 naming the bad key otherwise')
    .action(async (flags: { config?: string; check?: boolean }) => {
      const file = flags.config ?? DEFAULT_CONFIG;
      if (flags.config === undefined && !existsSync(file)) {
        throw new UsageError(
          `--config: no file given and no ${DEFAULT_CONFIG} here (see config/snowgate.example.yaml)`,
        );
      }
      const { ConfigError, loadConfig } = await import('../config/load.js');
      let config;
      try {
        config = loadConfig(file);
      } catch (e) {
        throw asUsageError(e, ConfigError);
      }
      if (flags.check) {
        process.stdout.write(`snowgate serve: ${file} is a valid configuration\n`);
        return;
      }
      // Listening before the server starts, so a SIGTERM during start-up still means "stop cleanly".
      const stop = shutdownSignal();
      const { startServer } = await import('../main.js');
      // startServer checks what the schema cannot (nats.dir's key files readable, say) and throws
      // ConfigError naming the key: a configuration error, so exit 2 like one the loader found.
      const server = await startServer(config).catch((e: unknown) => {
        throw asUsageError(e, ConfigError);
      });
      // SIGHUP: a renewed certificate, without dropping a connection.
      const reload = () => {
        try {
          const done = server.reloadTls();
          process.stderr.write(
            `snowgate serve: SIGHUP: ${done ? 'TLS certificate and key reloaded' : 'no server.tls to reload'}\n`,
          );
        } catch (e) {
          process.stderr.write(`snowgate serve: SIGHUP: keeping the TLS certificate in use: ${(e as Error).message}\n`);
        }
      };
      process.on('SIGHUP', reload);
      await untilAborted(stop);
      process.off('SIGHUP', reload);
      await server.close();
    });
}
