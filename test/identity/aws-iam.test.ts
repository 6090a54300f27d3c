import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { awsIamToken } from '../../src/client/aws-iam-token.js';
import type { IssuerConfig } from '../../src/config/types.js';
import { ClaimsMismatch, InvalidToken, Unavailable } from '../../src/errors.js';
import { Authenticator } from '../../src/identity/authenticator.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { startStsStandIn, verifySigV4, type StandInIdentity, type StsStandIn } from './sts-stand-in.js';

const ROLE: StandInIdentity = {
  accessKeyId: 'ASIAEXAMPLEROLE00001',
  secretAccessKey: 'role-secret/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEExampleSessionToken//////////wEaDExample',
  arn: 'arn:aws:sts::123456789012:assumed-role/billing-api/i-0abc123def4567890',
  userId: 'AROAEXAMPLEROLEID0001:i-0abc123def4567890',
  account: '123456789012',
};
const USER: StandInIdentity = {
  accessKeyId: 'AKIAEXAMPLEUSER00001',
  secretAccessKey: 'user-secret/K7MDENG+bPxRfiCYEXAMPLEKEY',
  arn: 'arn:aws:iam::123456789012:user/ops/alice',
  userId: 'AIDAEXAMPLEUSERID0001',
  account: '123456789012',
};
const STRANGER: StandInIdentity = {
  accessKeyId: 'AKIAEXAMPLESTRANGER1',
  secretAccessKey: 'stranger-secret/K7MDENG+bPxRfiCYEXAMPLE',
  arn: 'arn:aws:sts::210987654321:assumed-role/billing-api/someone',
  userId: 'AROAEXAMPLESTRANGER1:someone',
  account: '210987654321',
};

const creds = (i: StandInIdentity) => ({
  accessKeyId: i.accessKeyId,
  secretAccessKey: i.secretAccessKey,
  ...(i.sessionToken ? { sessionToken: i.sessionToken } : {}),
});

/** A request signed by hand, for the shapes awsIamToken never makes. */
async function signed(
  sts: StsStandIn,
  opts: { body?: string; headers?: Record<string, string>; date?: Date; url?: string; method?: string } = {},
  who: StandInIdentity = ROLE,
): Promise<string> {
  const url = new URL(opts.url ?? `${sts.endpoint}/`);
  const signer = new SignatureV4({ service: 'sts', region: 'us-east-1', credentials: creds(who), sha256: Sha256 });
  const body = opts.body ?? 'Action=GetCallerIdentity&Version=2011-06-15';
  const request = await signer.sign(
    {
      method: opts.method ?? 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
      body,
    },
    opts.date ? { signingDate: opts.date } : {},
  );
  const json = { method: opts.method ?? 'POST', url: url.href, headers: request.headers, body };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

const patch = (
  token: string,
  f: (r: { method: string; url: string; headers: Record<string, string>; body: string }) => void,
) => {
  const r = JSON.parse(Buffer.from(token, 'base64url').toString()) as Parameters<typeof f>[0];
  f(r);
  return Buffer.from(JSON.stringify(r)).toString('base64url');
};

describe('the STS stand-in', () => {
  it("verifies AWS's published SigV4 test vectors (get-vanilla, post-vanilla)", async () => {
    const lookup = (k: string) =>
      k === 'AKIDEXAMPLE' ? { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' } : undefined;
    const at = Date.parse('2015-08-30T12:36:00Z');
    const vector = (method: string, signature: string) => ({
      method,
      host: 'example.amazonaws.com',
      path: '/',
      body: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
      },
    });
    const get = vector('GET', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
    const post = vector('POST', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
    assert.equal(await verifySigV4(get, lookup, 'service', at), undefined);
    assert.equal(await verifySigV4(post, lookup, 'service', at), undefined);
    assert.equal(await verifySigV4({ ...post, body: 'x' }, lookup, 'service', at), 'SignatureDoesNotMatch');
    assert.equal(await verifySigV4(get, lookup, 'service', at + 16 * 60_000), 'SignatureDoesNotMatch', 'expired');
  });
});

describe('aws-iam issuer: signed sts:GetCallerIdentity requests', () => {
  let sts: StsStandIn;
  let config: IssuerConfig;
  let verifier: TokenVerifier;
  let auth: Authenticator;
  let token: () => Promise<string>;

  before(async () => {
    sts = await startStsStandIn([ROLE, USER, STRANGER]);
    config = {
      name: 'aws',
      kind: 'aws-iam',
      issuer: sts.endpoint,
      audience: ['snowgate-prod'],
      algorithms: [],
      subjectClaim: 'arn',
      instanceClaim: 'sessionName',
      claims: { account: '123456789012', arn: 'arn:aws:iam::123456789012:*' },
      dynamic: true,
    };
    verifier = new TokenVerifier([config], { clockToleranceMs: 1000, stsTimeoutMs: 2000 });
    auth = new Authenticator(verifier, { roleClaim: 'groups', adminRole: 'snowgate-admins' });
    token = awsIamToken({ serverId: 'snowgate-prod', stsEndpoint: sts.endpoint, credentials: creds(ROLE) });
  });
  after(() => sts.close());

  const refusal = async (t: string, callsSTS: boolean): Promise<string> => {
    const calls = sts.calls;
    const e = await verifier.verify(t).then(
      () => assert.fail('accepted'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof InvalidToken, String(e));
    assert.equal(e.issuer, e.reason === 'unknown_issuer' ? undefined : 'aws');
    assert.equal(sts.calls > calls, callsSTS, callsSTS ? 'STS was asked' : 'refused before STS was asked');
    return e.reason;
  };

  it('keys an assumed role by its role ARN, with the session as the instance', async () => {
    const v = await verifier.verify(await token());
    assert.equal(v.subject, 'arn:aws:iam::123456789012:role/billing-api');
    assert.equal(v.instance, 'i-0abc123def4567890');
    assert.deepEqual(v.claims, {
      account: '123456789012',
      callerArn: ROLE.arn,
      userId: ROLE.userId,
      type: 'assumed-role',
      arn: 'arn:aws:iam::123456789012:role/billing-api',
      name: 'billing-api',
      sessionName: 'i-0abc123def4567890',
      roleId: 'AROAEXAMPLEROLEID0001',
    });
    // What reached STS is what the workload signed: only the signed headers and authorization.
    const seen = sts.seen.at(-1)!;
    assert.equal(seen.headers['x-snowgate-server-id'], 'snowgate-prod');
    assert.equal(seen.body, 'Action=GetCallerIdentity&Version=2011-06-15');
  });

  it("keys an IAM user by its ARN, path included, and signs with the SDK's default credential chain", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    try {
      const fromChain = awsIamToken({ serverId: 'snowgate-prod', stsEndpoint: sts.endpoint });
      const v = await verifier.verify(await fromChain());
      assert.equal(v.subject, 'arn:aws:iam::123456789012:user/ops/alice');
      assert.equal(v.claims.path, '/ops/');
      assert.equal(v.claims.type, 'user');
      assert.equal(v.instance, undefined);
    } finally {
      process.env = saved;
    }
  });

  it('applies bound claims to what STS said: another account is a stranger (403)', async () => {
    const stranger = awsIamToken({
      serverId: 'snowgate-prod',
      stsEndpoint: sts.endpoint,
      credentials: creds(STRANGER),
    });
    await assert.rejects(auth.service(`Bearer ${await stranger()}`), ClaimsMismatch);
    const ok = await auth.service(`Bearer ${await token()}`);
    assert.deepEqual(ok.principal, { issuer: 'aws', subject: 'arn:aws:iam::123456789012:role/billing-api' });
  });

  it('refuses, without asking STS, a request for anything but GetCallerIdentity at the configured endpoint', async () => {
    assert.equal(
      await refusal(await signed(sts, { body: 'Action=AssumeRole&Version=2011-06-15&RoleArn=x' }), false),
      'malformed',
    );
    assert.equal(
      await refusal(
        await signed(sts, { body: 'Action=GetCallerIdentity&Version=2011-06-15&Action=GetSessionToken' }),
        false,
      ),
      'malformed',
    );
    assert.equal(
      await refusal(await signed(sts, { url: `${sts.endpoint}/?Action=GetSessionToken` }), false),
      'malformed',
    );
    assert.equal(await refusal(await signed(sts, { url: `${sts.endpoint}/other` }), false), 'malformed');
    assert.equal(await refusal(await signed(sts, { method: 'GET' }), false), 'malformed');
    const elsewhere = awsIamToken({
      serverId: 'snowgate-prod',
      stsEndpoint: 'https://sts.amazonaws.com',
      credentials: creds(ROLE),
    });
    assert.equal(await refusal(await elsewhere(), false), 'unknown_issuer');
    assert.equal(
      await refusal(
        patch(await token(), (r) => (r.headers.host = 'attacker.example.com')),
        false,
      ),
      'malformed',
    );
  });

  it('refuses, without asking STS, a request not signed for this deployment', async () => {
    const other = awsIamToken({ serverId: 'snowgate-staging', stsEndpoint: sts.endpoint, credentials: creds(ROLE) });
    assert.equal(await refusal(await other(), false), 'bad_audience');
    // The header added after signing: not in SignedHeaders, so STS would never check it.
    const unsigned = patch(await signed(sts), (r) => (r.headers['x-snowgate-server-id'] = 'snowgate-prod'));
    assert.equal(await refusal(unsigned, false), 'malformed');
    for (const bad of [
      '',
      'abc.def',
      Buffer.from('[1]').toString('base64url'),
      Buffer.from('{"url":1}').toString('base64url'),
    ]) {
      await assert.rejects(verifier.verify(bad), InvalidToken, bad);
    }
    const twice = patch(await token(), (r) => (r.headers['X-Snowgate-Server-Id'] = 'snowgate-prod'));
    assert.equal(await refusal(twice, false), 'malformed');
  });

  it('is refused by STS when the signature does not hold: a changed header, wrong keys, an old request', async () => {
    const tampered = patch(
      await token(),
      (r) =>
        (r.headers['x-amz-date'] = r.headers['x-amz-date']!.replace(/(\d)Z$/, (_, d) => `${(Number(d) + 1) % 10}Z`)),
    );
    assert.equal(await refusal(tampered, true), 'sts_refused');
    const forged = awsIamToken({
      serverId: 'snowgate-prod',
      stsEndpoint: sts.endpoint,
      credentials: { ...creds(ROLE), secretAccessKey: 'not-the-secret' },
    });
    assert.equal(await refusal(await forged(), true), 'sts_refused');
    const old = await signed(sts, {
      headers: { 'x-snowgate-server-id': 'snowgate-prod' },
      date: new Date(Date.now() - 20 * 60_000),
    });
    assert.equal(await refusal(old, true), 'sts_refused');
  });

  it('answers 503 unavailable with Retry-After while STS fails, and recovers', async () => {
    sts.failWith = 503;
    try {
      await assert.rejects(verifier.verify(await token()), (e: unknown) => {
        assert.ok(e instanceof Unavailable, String(e));
        assert.equal(e.retryAfterSeconds, 5);
        return true;
      });
    } finally {
      delete sts.failWith;
    }
    assert.equal((await verifier.verify(await token())).subject, 'arn:aws:iam::123456789012:role/billing-api');
  });
});

describe('snowgate/client aws-iam token source', () => {
  it('imports nothing of the server', () => {
    const source = readFileSync(
      fileURLToPath(new URL('../../../src/client/aws-iam-token.ts', import.meta.url)),
      'utf8',
    );
    const specifiers = [...source.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'|import\('([^']+)'\)/gm)].map(
      (m) => m[1] ?? m[2],
    );
    assert.ok(specifiers.length >= 3, specifiers.join());
    for (const s of specifiers) {
      assert.match(s!, /^(node:|@smithy\/|@aws-sdk\/)/, `${s}: the token source must stand alone`);
    }
  });

  it('refuses options that cannot work', () => {
    assert.throws(() => awsIamToken({ serverId: '' }), /serverId/);
    assert.throws(() => awsIamToken({ serverId: 'x', stsEndpoint: 'https://sts.amazonaws.com/path' }), /origin only/);
  });
});
