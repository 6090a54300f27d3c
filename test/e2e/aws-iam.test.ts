// AWS IAM without OIDC, end to end: `snowgate serve` with an aws-iam issuer whose STS endpoint
// is the local stand-in, and `snowgate lease --token-aws-iam` signing with the default AWS
// credential chain (here: the environment), as an EC2 instance or ECS task would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run } from '../cli/helpers.js';
import { startStsStandIn, type StsStandIn } from '../identity/sts-stand-in.js';
import { ADMIN_TOKEN, baseConfig, call, freePort, serve, tempDir, type Serve } from './harness.js';

const ROLE = {
  accessKeyId: 'ASIAEXAMPLEE2E000001',
  secretAccessKey: 'e2e-secret/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEE2eSessionToken',
  arn: 'arn:aws:sts::123456789012:assumed-role/billing-api/i-0e2e0000000000001',
  userId: 'AROAEXAMPLEE2EROLE01:i-0e2e0000000000001',
  account: '123456789012',
};

describe('aws-iam: snowgate lease --token-aws-iam against snowgate serve', () => {
  let sts: StsStandIn;
  let reg: Serve;
  const tmp = tempDir('aws-iam');
  before(async () => {
    sts = await startStsStandIn([ROLE]);
    const config = baseConfig(await freePort(), tmp.dir, 'http://127.0.0.1:1', {
      issuers: [
        {
          name: 'aws',
          kind: 'aws-iam',
          issuer: sts.endpoint,
          audience: ['snowgate-e2e'],
          claims: { account: '123456789012', type: 'assumed-role' },
        },
      ],
      admin: { bootstrapToken: ADMIN_TOKEN },
    });
    reg = await serve(tmp.dir, config);
  });
  after(async () => {
    await reg?.kill('SIGTERM');
    await sts?.close();
    tmp.remove();
  });

  it('leases a node for the role, with the session as the instance', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: ROLE.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ROLE.secretAccessKey,
      AWS_SESSION_TOKEN: ROLE.sessionToken,
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    };
    const args = ['lease', '--registry', reg.url, '--token-aws-iam', 'snowgate-e2e', '--sts-endpoint', sts.endpoint];
    const r = await run([...args, '--once'], { env });
    assert.equal(r.code, 0, r.stderr);
    const { lease } = JSON.parse(r.stdout) as { lease: { principal: unknown; instance: string } };
    assert.deepEqual(lease.principal, { issuer: 'aws', subject: 'arn:aws:iam::123456789012:role/billing-api' });
    assert.equal(lease.instance, 'i-0e2e0000000000001');
    const leases = await call(reg.url, 'GET', '/v1/admin/leases?issuer=aws', ADMIN_TOKEN);
    assert.equal(leases.body.length, 1);

    const wrongServer = await run(
      ['lease', '--registry', reg.url, '--token-aws-iam', 'another', '--sts-endpoint', sts.endpoint, '--once'],
      { env },
    );
    assert.equal(wrongServer.code, 1);
    assert.match(wrongServer.stderr, /401|invalid_token|audience/);
    const badEndpoint = await run([...args.slice(0, 5), '--sts-endpoint', 'https://sts.amazonaws.com/x', '--once'], {
      env,
    });
    assert.equal(badEndpoint.code, 2, badEndpoint.stderr);
    assert.match(badEndpoint.stderr, /--sts-endpoint/);
  });
});
