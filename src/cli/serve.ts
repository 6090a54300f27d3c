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
    .action(async (flags: { config?: string }) => {
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
      // Listening before the server starts, so a SIGTERM during start-up still means "stop cleanly".
      const stop = shutdownSignal();
      const { startServer } = await import('../main.js');
      // startServer checks what the schema cannot (nats.dir's key files readable, say) and throws
      // ConfigError naming the key: a configuration error, so exit 2 like one the loader found.
      const server = await startServer(config).catch((e: unknown) => {
        throw asUsageError(e, ConfigError);
      });
      await untilAborted(stop);
      await server.close();
    });
}
