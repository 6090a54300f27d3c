#!/usr/bin/env node
import { CommanderError } from 'commander';
import { exitAfterFlush, exitCodeFor, oneLine } from './exit.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
  // Explicitly: an idle keep-alive socket or a stray timer must not keep a finished command alive.
  exitAfterFlush(0);
} catch (e) {
  // Commander has already printed its own one-line error (or the help or version asked for).
  if (!(e instanceof CommanderError)) process.stderr.write(`snowgate: ${oneLine(e)}\n`);
  exitAfterFlush(exitCodeFor(e));
}
