// What nats-server 2.10 (Debian trixie's 2.10.27, fetched by .ci/nats-server-210.sh) does with an auth
// callout in operator mode, which the callout design (issue 10, CONTRACT §8) rests on: an account JWT
// whose `authorization` names a callout user, allowed accounts and an xkey is accepted; a client that
// sends only a token is refused before any callout ("Authentication requires a user JWT"); a client
// with a user JWT of the AUTH account (a sentinel) plus a token is handed to $SYS.REQ.USER.AUTH, with
// the request sealed for the callout's xkey.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { encodeAccount, encodeUser, fmtCreds, type AuthorizationRequest } from '@nats-io/jwt';
import { createAccount, createCurve, createUser, fromSeed } from '@nats-io/nkeys';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { SYSTEM_ACCOUNT_LIMITS } from '../../src/nats/account.js';
import { initNats } from '../../src/nats/init.js';
import { verifiedClaims } from '../../src/nats/jwt-verify.js';
import { loadNatsKeys, type NatsKeys } from '../../src/nats/keys.js';
import { freePort, tempDir, waitFor } from './harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** $SNOWGATE_NATS_SERVER_210, or the one the script fetches (once) into a private cache. */
function natsServer210(): string {
  return execFileSync('bash', [path.join(ROOT, '.ci/nats-server-210.sh')], { encoding: 'utf8' }).trim();
}

describe('nats-server 2.10 auth callout in operator mode', () => {
  const te = new TextEncoder();
  let child: ChildProcess | undefined;
  let url: string;
  let keys: NatsKeys;
  const closing: NatsConnection[] = [];
  before(async () => {
    const bin = natsServer210();
    assert.match(execFileSync(bin, ['--version'], { encoding: 'utf8' }), /v2\.1\d\./);
    const dir = tempDir('callout').dir;
    await initNats(dir);
    keys = await loadNatsKeys(dir);
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    child = spawn(bin, ['-c', path.join(dir, 'nats-server.conf'), '-a', '127.0.0.1', '-p', String(port)], {
      cwd: dir,
      stdio: 'ignore',
    });
    await waitFor('nats-server 2.10', () =>
      connect({ servers: url, authenticator: credsAuthenticator(te.encode(keys.systemCreds)), reconnect: false }).then(
        (nc) => (closing.push(nc), true),
      ),
    );
  });
  after(async () => {
    for (const nc of closing) await nc.close().catch(() => undefined);
    child?.kill('SIGTERM');
  });

  it('calls out for a sentinel user plus a token, and refuses a token alone at once', async () => {
    const sys = closing[0]!;
    const operator = fromSeed(te.encode(keys.operator.seed));
    const auth = createAccount();
    const calloutUser = createUser();
    const xkey = createCurve();
    const authJwt = await encodeAccount(
      'AUTH',
      auth,
      {
        limits: SYSTEM_ACCOUNT_LIMITS,
        authorization: {
          auth_users: [calloutUser.getPublicKey()],
          allowed_accounts: [keys.account.publicKey],
          xkey: xkey.getPublicKey(),
        },
      },
      { signer: operator },
    );
    const pushed = (await sys.request('$SYS.REQ.CLAIMS.UPDATE', authJwt)).json<{ data?: { code: number } }>();
    assert.equal(pushed.data?.code, 200);

    const service = await connect({
      servers: url,
      authenticator: credsAuthenticator(fmtCreds(await encodeUser('callout', calloutUser, auth, {}), calloutUser)),
    });
    closing.push(service);
    const requests: Msg[] = [];
    service.subscribe('$SYS.REQ.USER.AUTH', {
      callback: (_e, m) => {
        requests.push(m);
      },
    });
    await service.flush();

    const t0 = Date.now();
    await assert.rejects(
      connect({ servers: url, token: 'a-bearer-token', reconnect: false }),
      /Authorization Violation/,
    );
    assert.ok(Date.now() - t0 < 1000, 'refused at once');
    assert.equal(requests.length, 0, 'a token alone never reaches the callout');

    const sentinel = createUser();
    const sentinelJwt = await encodeUser('sentinel', sentinel, auth, { pub: { deny: ['>'] }, sub: { deny: ['>'] } });
    // Nobody answers yet: the connect fails, but the request has reached the callout.
    await assert.rejects(
      connect({
        servers: url,
        authenticator: credsAuthenticator(fmtCreds(sentinelJwt, sentinel)),
        token: 'a-bearer-token',
        reconnect: false,
        timeout: 3000,
      }),
    );
    await waitFor('the authorization request', () => requests.length === 1);
    const request = requests[0]!;
    const serverXkey = request.headers?.get('Nats-Server-Xkey') ?? '';
    assert.match(serverXkey, /^X[A-Z2-7]{55}$/);
    const opened = xkey.open(request.data, serverXkey);
    assert.ok(opened, 'sealed for the callout xkey');
    // Signed by the server it names: what the responder checks before it answers.
    const claims = verifiedClaims<AuthorizationRequest>(new TextDecoder().decode(opened), 'server');
    assert.equal(claims.iss, claims.nats.server_id?.id);
    assert.equal(claims.nats.connect_opts?.auth_token, 'a-bearer-token');
    assert.match(claims.nats.user_nkey ?? '', /^U[A-Z2-7]{55}$/);
  });
});
