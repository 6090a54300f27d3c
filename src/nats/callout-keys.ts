/**
 * The key material of the NATS auth callout (issue 10, CONTRACT §8), made by `snowgate init
 * --auth-callout`: an AUTH account whose JWT hands the application account's connections to a
 * callout user, that user, the xkey requests are sealed for, and a sentinel user.
 *
 * Why a sentinel: nats-server 2.10 in operator mode refuses a client that sends only a token
 * ("Authentication requires a user JWT") before any callout. A client therefore connects with the
 * sentinel's credentials (a user of the AUTH account that may do nothing: deny-all) plus its token;
 * the server sees a user of an account with `authorization` set and hands the connect to the
 * callout, which places it in the application account or refuses it. The sentinel is meant to be
 * published: it grants nothing by itself.
 */
import { encodeAccount, encodeUser } from '@nats-io/jwt';
import { createCurve, fromCurveSeed } from '@nats-io/nkeys';
import { SYSTEM_ACCOUNT_LIMITS } from './account.js';
import { generateNkey } from './nkey.js';
import { createSigner, type NativeSigner } from './signer.js';

export interface KeyPairText {
  publicKey: string;
  seed: string;
}

export interface NamedKeyPair extends KeyPairText {
  name: string;
  jwt: string;
}

/** What `init --auth-callout` adds to the manifest (`authCallout`). */
export interface CalloutKeys {
  /** The AUTH account: its JWT carries `authorization`; it signs the callout's responses. */
  account: NamedKeyPair;
  /** The callout user (`auth_users`): snowgate connects as it to answer $SYS.REQ.USER.AUTH. */
  user: NamedKeyPair;
  /** Curve key ("X…"/"SX…") the servers seal authorization requests for. */
  xkey: KeyPairText;
  /** A deny-all user of the AUTH account whose creds clients send with their token. */
  sentinel: NamedKeyPair;
}

export const AUTH_ACCOUNT_NAME = 'AUTH';
const CALLOUT_USER_NAME = 'snowgate-callout';
const SENTINEL_USER_NAME = 'snowgate-sentinel';

const te = new TextEncoder();
const td = new TextDecoder();

/** A fresh curve key pair for sealed authorization requests. */
export function generateXkey(): KeyPairText {
  const kp = createCurve();
  return { publicKey: kp.getPublicKey(), seed: td.decode(kp.getSeed()) };
}

/** Throws unless `seed` is a curve seed whose public key is `publicKey`. */
export function checkXkey(x: KeyPairText): void {
  if (fromCurveSeed(te.encode(x.seed)).getPublicKey() !== x.publicKey) {
    throw new Error(`the xkey seed does not match ${x.publicKey}`);
  }
}

/** The AUTH account, callout user, xkey and sentinel, for the application account `appAccount`. */
export async function buildCalloutKeys(operator: NativeSigner, appAccount: string): Promise<CalloutKeys> {
  const auth = generateNkey('account');
  const user = generateNkey('user');
  const sentinel = generateNkey('user');
  const xkey = generateXkey();
  const authJwt = await encodeAccount(
    AUTH_ACCOUNT_NAME,
    auth.publicKey,
    {
      // The account only holds the callout user and sentinels: no JetStream.
      limits: SYSTEM_ACCOUNT_LIMITS,
      authorization: { auth_users: [user.publicKey], allowed_accounts: [appAccount], xkey: xkey.publicKey },
    },
    { signer: operator },
  );
  const authSigner = createSigner(auth.seed);
  // The callout user is the AUTH account's only real member: it answers requests and nothing else exists there.
  const userJwt = await encodeUser(CALLOUT_USER_NAME, user.publicKey, authSigner, {});
  const sentinelJwt = await encodeUser(SENTINEL_USER_NAME, sentinel.publicKey, authSigner, {
    pub: { deny: ['>'] },
    sub: { deny: ['>'] },
  });
  return {
    account: { name: AUTH_ACCOUNT_NAME, ...auth, jwt: authJwt },
    user: { name: CALLOUT_USER_NAME, ...user, jwt: userJwt },
    xkey,
    sentinel: { name: SENTINEL_USER_NAME, ...sentinel, jwt: sentinelJwt },
  };
}
