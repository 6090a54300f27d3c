/**
 * `snowgate init --out DIR`: a fresh NATS trust chain for snowgate, and the nats-server.conf
 * that trusts it (CONTRACT §2). Never overwrites: keys once handed out must not silently change.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeAccount, encodeOperator, encodeUser } from '@nats-io/jwt';
import { buildAccountJwt, SYSTEM_ACCOUNT_LIMITS } from './account.js';
import { buildCalloutKeys } from './callout-keys.js';
import {
  CALLOUT_CREDS_FILE,
  KEK_FILE,
  MANIFEST_FILE,
  SENTINEL_CREDS_FILE,
  SERVER_CONF_FILE,
  SYSTEM_CREDS_FILE,
  type NatsKeyManifest,
} from './keys.js';
import { generateNkey } from './nkey.js';
import { writeKek } from './seed-seal.js';
import { JETSTREAM_DIR, renderServerConf, RESOLVER_DIR } from './server-conf.js';
import { createSigner } from './signer.js';
import { formatCreds } from './user-jwt.js';

/** A file init would write already exists; nothing was written. */
export class InitRefused extends Error {
  constructor(readonly file: string) {
    super(`${file} already exists; refusing to overwrite NATS keys`);
  }
}

const OPERATOR_NAME = 'snowgate';
const SYSTEM_ACCOUNT_NAME = 'SYS';
const SYSTEM_USER_NAME = 'snowgate-sys';
const APP_ACCOUNT_NAME = 'snowgate';

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function buildManifest(authCallout: boolean): Promise<NatsKeyManifest> {
  const operator = generateNkey('operator');
  const sys = generateNkey('account');
  const sysUser = generateNkey('user');
  const app = generateNkey('account');
  const signingKey = generateNkey('account');
  const op = createSigner(operator.seed);

  // One-off JWTs go through @nats-io/jwt; the application account uses the same builder as
  // every later update, so the preloaded JWT and the pushed ones never differ in shape.
  const operatorJwt = await encodeOperator(OPERATOR_NAME, op, { system_account: sys.publicKey });
  const sysJwt = await encodeAccount(
    SYSTEM_ACCOUNT_NAME,
    sys.publicKey,
    { limits: SYSTEM_ACCOUNT_LIMITS },
    { signer: op },
  );
  // The registry only pushes account JWTs with this user, so that is all it may do.
  const sysUserJwt = await encodeUser(SYSTEM_USER_NAME, sysUser.publicKey, createSigner(sys.seed), {
    pub: { allow: ['$SYS.REQ.CLAIMS.UPDATE', '$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE'] },
    sub: { allow: ['_INBOX.>'] },
  });
  const appJwt = buildAccountJwt({
    operator: op,
    accountPublicKey: app.publicKey,
    name: APP_ACCOUNT_NAME,
    signingKeys: [signingKey.publicKey],
    revocations: new Map(),
    iatSeconds: Math.floor(Date.now() / 1000),
  });
  return {
    version: 1,
    operator: { name: OPERATOR_NAME, ...operator, jwt: operatorJwt },
    systemAccount: { name: SYSTEM_ACCOUNT_NAME, ...sys, jwt: sysJwt },
    systemUser: { name: SYSTEM_USER_NAME, ...sysUser, jwt: sysUserJwt },
    account: { name: APP_ACCOUNT_NAME, ...app, jwt: appJwt },
    signingKey,
    ...(authCallout ? { authCallout: await buildCalloutKeys(op, app.publicKey) } : {}),
  };
}

export interface InitOptions {
  /** Also the AUTH account, callout user, xkey and sentinel (callout-keys.ts). */
  authCallout?: boolean;
}

/** Writes the keys and nats-server.conf into `outDir`; throws InitRefused if any file exists. */
export async function initNats(outDir: string, opts: InitOptions = {}): Promise<{ files: string[] }> {
  const dir = path.resolve(outDir);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const credsFile = path.join(dir, SYSTEM_CREDS_FILE);
  const confFile = path.join(dir, SERVER_CONF_FILE);
  const kekFile = path.join(dir, KEK_FILE);
  const calloutFiles = opts.authCallout
    ? [path.join(dir, CALLOUT_CREDS_FILE), path.join(dir, SENTINEL_CREDS_FILE)]
    : [];
  for (const f of [manifestFile, credsFile, confFile, kekFile, ...calloutFiles])
    if (await exists(f)) throw new InitRefused(f);

  const m = await buildManifest(opts.authCallout === true);
  const preload: Record<string, string> = {
    [m.systemAccount.publicKey]: m.systemAccount.jwt,
    [m.account.publicKey]: m.account.jwt,
  };
  // The AUTH account is preloaded too: the conf works as written, with no push needed first.
  if (m.authCallout) preload[m.authCallout.account.publicKey] = m.authCallout.account.jwt;
  const conf = renderServerConf({
    dir,
    operatorJwt: m.operator.jwt,
    systemAccount: m.systemAccount.publicKey,
    preload,
  });

  // mkdir's mode applies only to folders it creates: an existing folder keeps its own.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await mkdir(path.join(dir, RESOLVER_DIR), { recursive: true, mode: 0o700 });
  await mkdir(path.join(dir, JETSTREAM_DIR), { recursive: true, mode: 0o700 });
  // 'wx' fails if a concurrent init got there first; the manifest goes first, as the lock.
  const write = (file: string, text: string): Promise<void> =>
    writeFile(file, text, { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? new InitRefused(file) : e;
    });
  await write(manifestFile, `${JSON.stringify(m, null, 2)}\n`);
  await write(credsFile, formatCreds(m.systemUser.jwt, m.systemUser.seed));
  await write(confFile, conf);
  await writeKek(kekFile).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EEXIST' ? new InitRefused(kekFile) : e;
  });
  const c = m.authCallout;
  if (c) {
    // Both 0600 like every key file here: the sentinel grants nothing, but its owner decides who gets it.
    await write(calloutFiles[0]!, formatCreds(c.user.jwt, c.user.seed));
    await write(calloutFiles[1]!, formatCreds(c.sentinel.jwt, c.sentinel.seed));
  }
  return { files: [manifestFile, credsFile, confFile, kekFile, ...calloutFiles] };
}

/**
 * Adds the key-encryption key to an init dir made before seeds were sealed at rest (`snowgate init
 * --key-encryption-key`). Refuses when the dir holds no keys, or a KEK already.
 */
export async function addKek(outDir: string): Promise<{ file: string }> {
  const dir = path.resolve(outDir);
  const manifest = path.join(dir, MANIFEST_FILE);
  if (!(await exists(manifest)))
    throw new Error(`${manifest} does not exist: run \`snowgate init --out ${outDir}\` first`);
  const file = path.join(dir, KEK_FILE);
  await writeKek(file).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EEXIST' ? new InitRefused(file) : e;
  });
  return { file };
}
