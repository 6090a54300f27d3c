import { CommanderError } from 'commander';

/**
 * A usage or configuration mistake: exit 2, with one line that names the bad flag or key.
 * Commands turn ConfigError into this where they load the configuration, so that this module,
 * loaded by every command, does not pull in the config schema (slow to load) just to test a class.
 */
export class UsageError extends Error {}

/** Rethrows a ConfigError as a UsageError, keeping its message (which names the key). */
export function asUsageError(e: unknown, configError: abstract new (...a: never[]) => Error): unknown {
  return e instanceof configError ? new UsageError(e.message) : e;
}

/** The exit code for an error that ended a command (CONTRACT §2: 1 runtime, 2 usage or config). */
export function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // --help and --version end through exitOverride too; they are successes.
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof UsageError) return 2;
  return 1;
}

/** One line for stderr, so scripts and log collectors see the whole reason in one record. */
export function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Exits once stdout has flushed, so a piped JSON result is never cut short. */
export function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.exit(code));
}
