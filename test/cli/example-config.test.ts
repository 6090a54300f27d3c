import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { PRESETS } from '../../src/identity/presets.js';

// dist/test/cli/ -> the package root's config/.
const EXAMPLE = fileURLToPath(new URL('../../../config/snowgate.example.yaml', import.meta.url));

/** Every property name anywhere in a JSON schema. */
function keys(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) schema.forEach((s) => keys(s, into));
  else if (schema && typeof schema === 'object') {
    const s = schema as Record<string, unknown>;
    if (s.properties && typeof s.properties === 'object') {
      for (const [k, v] of Object.entries(s.properties)) {
        into.add(k);
        keys(v, into);
      }
    }
    for (const k of ['items', 'anyOf', 'allOf', 'oneOf']) keys(s[k], into);
  }
  return into;
}

describe('config/snowgate.example.yaml', () => {
  it('is a valid configuration', () => {
    const config = loadConfig(EXAMPLE, {
      SNOWGATE_ADMIN_TOKEN: 'an-example-admin-token',
      PGPASSWORD: 'x',
      SNOWGATE_CONSOLE_SECRET: 'y',
    });
    assert.equal(config.pools[0]?.name, 'default');
    assert.ok(config.nats);
  });

  it('documents every key of the schema and lists every issuer preset', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const all = keys(ConfigSchema);
    assert.ok(all.size > 20);
    for (const k of all) assert.match(text, new RegExp(`^\\s*#?\\s*(- )?${k}:`, 'm'), `key ${k} is not in the example`);
    for (const p of Object.keys(PRESETS)) assert.match(text, new RegExp(`#\\s+${p}\\s`), `preset ${p} is not listed`);
  });
});
