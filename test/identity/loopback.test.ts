import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from '../../src/identity/loopback.js';

describe('isLoopbackHost', () => {
  const cases: Record<string, boolean> = {
    localhost: true,
    LOCALHOST: true,
    '127.0.0.1': true,
    '127.255.255.254': true,
    '127.1.2.3': true,
    '::1': true,
    '[::1]': true,
    // Names that only look local resolve wherever their DNS says.
    '127.0.0.1.nip.io': false,
    'localhost.example.com': false,
    'app.localhost': false,
    'localhost.': false,
    '127.0.0.256': false,
    '127.0.0.01': false,
    '127.0.0': false,
    '128.0.0.1': false,
    '0.0.0.0': false,
    '::': false,
    '[::ffff:7f00:1]': false,
    '': false,
  };
  for (const [host, expected] of Object.entries(cases)) {
    it(`${JSON.stringify(host)} ${expected ? 'is' : 'is not'} loopback`, () =>
      assert.equal(isLoopbackHost(host), expected));
  }

  it('takes URL.hostname, which canonicalises IPv4 forms and brackets IPv6', () => {
    for (const url of ['http://127.1:8080/', 'http://0x7f.0.0.1/', 'http://[::1]:9000/', 'http://LocalHost/']) {
      assert.equal(isLoopbackHost(new URL(url).hostname), true, url);
    }
    for (const url of ['http://127.0.0.1.nip.io/', 'http://[::2]/', 'http://example.com/']) {
      assert.equal(isLoopbackHost(new URL(url).hostname), false, url);
    }
  });
});
