import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { walkthrough, type WalkthroughInput } from '../../src/cli/dev-walkthrough.js';

const base: WalkthroughInput = {
  registry: 'http://127.0.0.1:8080',
  issuer: 'http://127.0.0.1:8081',
  tokenEndpoint: 'http://127.0.0.1:8081/token',
  dataDir: '/srv/checkout/data',
  cwd: '/srv/checkout',
  secrets: { service: 's3cret', admin: 'adm1n' },
};

function line(out: string, re: RegExp): string {
  const found = out.split('\n').find((l) => re.test(l));
  assert.ok(found, `no line matching ${re} in:\n${out}`);
  return found;
}

describe('the walk-through snowgate dev prints', () => {
  it('says where to run the commands: npx finds the local snowgate only there', () => {
    assert.match(walkthrough(base), /^Commands to copy, in another terminal in \/srv\/checkout:$/m);
  });

  it('with NATS: holds a lease with a creds file, says how it ends, and points to the NATS client section', () => {
    const out = walkthrough({ ...base, nats: { url: 'nats://127.0.0.1:4333', logFile: '/x/nats-server.log' } });
    assert.match(line(out, /snowgate lease/), / --creds-file demo\.creds$/);
    assert.match(out, /until Ctrl-C releases the lease/);
    assert.match(out, /^# 4\. .*demo\.creds.*"Connect a NATS client with the lease's credentials"$/m);
  });

  it('passes the admin token in a file, not on the command line where ps shows it', () => {
    const out = walkthrough(base);
    const admin = line(out, /snowgate admin/);
    assert.match(admin, / --token-file admin-token /);
    assert.doesNotMatch(admin, / --token /);
    assert.match(out, /^echo "\$ADMIN" > admin-token$/m);
  });

  it('without NATS: no creds file, which the keeper could not write, and no NATS step', () => {
    const out = walkthrough(base);
    assert.doesNotMatch(line(out, /snowgate lease/), /--creds-file/);
    assert.doesNotMatch(out, /^# 4\./m);
    assert.match(out, /nats-server is not on PATH/);
  });
});
