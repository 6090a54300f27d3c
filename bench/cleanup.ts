/**
 * Teardown that runs whatever way the bench ends: after the last line, after a throw, or on
 * Ctrl-C. A benchmark that leaves a nats-server listening or a SQLite file in the temp dir
 * poisons the next run's numbers, so every resource is registered here the moment it exists.
 */
type Step = () => Promise<void> | void;

export class Cleanup {
  readonly #steps: Step[] = [];
  /** The signal that stopped the run: work still in flight then fails, and that is no news. */
  interrupted: NodeJS.Signals | undefined;

  /** Registers a step; steps run last-in first-out, like nested try/finally blocks. */
  defer(step: Step): void {
    this.#steps.push(step);
  }

  /** Runs every step once, even if an earlier one fails: a stuck store must not strand the server. */
  async run(): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step();
      } catch (e) {
        console.error('bench cleanup:', e);
      }
    }
  }

  /** Ctrl-C or a kill would skip `finally`: clean up, then exit as the signal would have. */
  onSignals(): void {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      process.once(signal, () => {
        this.interrupted = signal;
        void this.run().finally(() => process.exit(code));
      });
    }
  }
}
