/**
 * Graceful shutdown: the first SIGINT or SIGTERM aborts the returned signal so the command can
 * finish its work (release a lease, drain requests); a second one exits at once, for an operator
 * facing a shutdown that hangs.
 */
export function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A Ctrl-C under `npm start` or `npx` arrives twice at once (the terminal's, and npm passing
    // it on): only a signal a moment after the first means an operator insisting.
    if (controller.signal.aborted && Date.now() - firstAt > 500) {
      process.stderr.write(`snowgate: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    if (controller.signal.aborted) return;
    firstAt = Date.now();
    controller.abort(new Error(`stopped by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/** Resolves when the signal aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
