import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base, refused, resolve } from './helpers.js';

const withAdmin = (console: unknown) => ({ ...base(), admin: { issuer: 'corp' }, console });

describe('config: console', () => {
  it('is on by default, token sign-in only, 8 h sessions', () => {
    assert.deepEqual(resolve(base()).console, { enabled: true, sessionTtlMs: 8 * 3600_000 });
  });

  it('fills the OIDC client defaults', () => {
    const c = resolve(withAdmin({ enabled: false, oidc: { clientId: 'console' }, sessionTtl: '30m' })).console;
    assert.deepEqual(c, { enabled: false, sessionTtlMs: 1_800_000, oidc: { clientId: 'console', scope: 'openid' } });
  });

  it('refuses what could never work, naming the key', () => {
    refused({ ...base(), console: { oidc: { clientId: 'c' } } }, [/^console\.oidc: needs admin\.issuer/]);
    refused(withAdmin({ sessionTtl: '10s' }), [/^console\.sessionTtl: must be at least 1m/]);
    refused(withAdmin({ oidc: { clientId: 'c', redirectUri: 'http://snowgate.example.com/ui/auth/callback' } }), [
      /^console\.oidc\.redirectUri: must be https/,
    ]);
    refused(withAdmin({ oidc: { clientId: 'c', redirectUri: 'https://snowgate.example.com/callback' } }), [
      /^console\.oidc\.redirectUri: must end in \/ui\/auth\/callback/,
    ]);
    refused(withAdmin({ oidc: { clientId: 'c', scopes: 'openid' } }), [/console\.oidc/]);
  });
});
