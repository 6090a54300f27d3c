import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { multiTenantPresetOf, PRESETS } from '../../src/identity/presets.js';

describe('presets', () => {
  it('flags exactly the public issuers anyone can get a token from as multi-tenant', () => {
    const flagged = Object.entries(PRESETS)
      .filter(([, p]) => p.multiTenant)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(flagged, ['github-actions', 'gitlab', 'google']);
    // A multi-tenant preset names its public issuer, so a config naming it by URL is caught too.
    for (const name of flagged) assert.ok(PRESETS[name]!.issuer?.startsWith('https://'), name);
  });

  it('finds the multi-tenant preset of an issuer URL, however it is spelt', () => {
    assert.equal(multiTenantPresetOf('https://token.actions.githubusercontent.com'), 'github-actions');
    assert.equal(multiTenantPresetOf('https://Token.Actions.GitHubUserContent.com/'), 'github-actions');
    assert.equal(multiTenantPresetOf('https://gitlab.com'), 'gitlab');
    assert.equal(multiTenantPresetOf('https://accounts.google.com/'), 'google');
    assert.equal(multiTenantPresetOf('https://gitlab.example.com'), undefined);
    assert.equal(multiTenantPresetOf('https://login.microsoftonline.com/tenant/v2.0'), undefined);
    assert.equal(multiTenantPresetOf('not a url'), undefined);
  });
});
