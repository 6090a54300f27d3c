import assert from 'node:assert/strict';
import { ConfigError, resolveConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

/** A fixed "now" after every epoch below, so the future-epoch rule does not depend on the test clock. */
export const NOW = Date.parse('2025-06-01T00:00:00Z');

/** The smallest configuration that loads, as a fresh object each call, for tests to change. */
export function base(): Record<string, any> {
  return {
    pools: [
      { name: 'default', epoch: '2024-01-01T00:00:00Z', layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 } },
    ],
    issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audience: ['snowgate'] }],
  };
}

export function resolve(raw: unknown, env: NodeJS.ProcessEnv = {}): Config {
  return resolveConfig(raw, env, NOW);
}

/** Asserts the configuration is refused with a ConfigError whose message matches every pattern. */
export function refused(raw: unknown, patterns: RegExp[], env: NodeJS.ProcessEnv = {}): string {
  let message = '';
  assert.throws(
    () => resolve(raw, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
      message = e.message;
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
  return message;
}
