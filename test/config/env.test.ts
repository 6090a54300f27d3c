import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, expandEnv } from '../../src/config/load.js';
import { base, refused, resolve } from './helpers.js';

describe('config: ${VAR} expansion', () => {
  it('expands ${VAR} inside string values, anywhere in the file', () => {
    const raw = {
      ...base(),
      issuers: [{ name: 'corp', issuer: 'https://${IDP_HOST}/oauth2', audience: ['${AUD}'] }],
      admin: { bootstrapToken: '${SNOWGATE_ADMIN_TOKEN}' },
    };
    const c = resolve(raw, { IDP_HOST: 'idp.example.com', AUD: 'snowgate', SNOWGATE_ADMIN_TOKEN: 'x'.repeat(20) });
    assert.equal(c.issuers[0]?.issuer, 'https://idp.example.com/oauth2');
    assert.deepEqual(c.issuers[0]?.audience, ['snowgate']);
    assert.equal(c.admin.bootstrapToken, 'x'.repeat(20));
  });

  it('uses the ${VAR:-default} default when the variable is unset or empty, the value otherwise', () => {
    const raw = { ...base(), store: { kind: 'sqlite', path: '${DB:-/var/lib/snowgate/snowgate.db}' } };
    assert.deepEqual(resolve(raw, { DB: '' }).store, { kind: 'sqlite', path: '/var/lib/snowgate/snowgate.db' });
    assert.deepEqual(resolve(raw, {}).store, { kind: 'sqlite', path: '/var/lib/snowgate/snowgate.db' });
    assert.deepEqual(resolve(raw, { DB: '/tmp/x.db' }).store, { kind: 'sqlite', path: '/tmp/x.db' });
    assert.deepEqual(resolve({ ...base(), lease: { ttl: '${TTL:-}30s' } }).lease.ttlMs, 30_000);
  });

  it('names an unset variable and the key that wanted it', () => {
    refused({ ...base(), admin: { bootstrapToken: '${SNOWGATE_ADMIN_TOKEN}' } }, [
      /admin\.bootstrapToken/,
      /SNOWGATE_ADMIN_TOKEN is not set/,
    ]);
    refused({ ...base(), issuers: [{ name: 'corp', issuer: 'https://idp', audience: ['${AUD}'] }] }, [
      /issuers\[0\]\.audience\[0\]/,
      /AUD/,
    ]);
  });

  it('treats a set but empty variable without a default as unset', () => {
    refused({ ...base(), admin: { bootstrapToken: '${T}' } }, [/T is not set/], { T: '' });
  });

  it('a value cannot add structure: it stays one string, checked by the schema', () => {
    refused({ ...base(), server: { host: '127.0.0.1', port: '${PORT}' } }, [/server\.port/], { PORT: '8080' });
    const out = expandEnv({ a: '${V}' }, { V: '{ b: 1 }\nc: [2]' });
    assert.deepEqual(out, { a: '{ b: 1 }\nc: [2]' });
  });

  it('expands only strings; keys, numbers and booleans stay as written', () => {
    const out = expandEnv({ '${K}': 1, n: 2, b: true, z: null, list: ['${V}', 3] }, { K: 'k', V: 'v' });
    assert.deepEqual(out, { '${K}': 1, n: 2, b: true, z: null, list: ['v', 3] });
  });

  it('leaves text that is not a ${NAME} reference alone', () => {
    const out = expandEnv(['$HOME', '${}', '${1X}', 'a$b', '${X'], { HOME: '/root', X: 'x' });
    assert.deepEqual(out, ['$HOME', '${}', '${1X}', 'a$b', '${X']);
    // There is no escape: `$${X}` is a `$` followed by the value of X.
    assert.equal(expandEnv('$${X}', { X: 'x' }), '$x');
  });

  it('an expanded value is not expanded again', () => {
    assert.deepEqual(expandEnv('${A}', { A: '${B}', B: 'no' }), '${B}');
  });

  it('throws ConfigError, not a plain Error', () => {
    assert.throws(() => expandEnv('${NOPE}', {}), ConfigError);
  });
});
