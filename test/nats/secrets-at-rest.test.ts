// Issue 7, finding 3: secrets at rest. Signing-key seeds in the store are sealed under a key-encryption
// key kept outside it; a store copied without that file yields no usable seed; old plain seeds are
// sealed on start; the database and its folders are private whatever the umask.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { addKek, InitRefused } from '../../src/nats/init.js';
import { KEK_FILE } from '../../src/nats/keys.js';
import { generateNkey } from '../../src/nats/nkey.js';
import { InvalidKek, loadKek, SealedSeedError, SeedSealer, writeKek } from '../../src/nats/seed-seal.js';
import { MemoryNatsStateStore } from '../../src/nats/state.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { authoritiesOnServer, connectCreds, tempDir } from './harness.js';
import { formatCreds, newUserCreds } from '../../src/nats/user-jwt.js';

const mode = (f: string) => statSync(f).mode & 0o777;

/** Runs `fn` with a umask that would leave new files world-readable. */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

describe('SeedSealer', () => {
  it('opens what it sealed, only for the same key and KEK', () => {
    const kek = new SeedSealer(Buffer.alloc(32, 7));
    const k = generateNkey('account');
    const sealed = kek.seal(k.seed, k.publicKey);
    assert.ok(SeedSealer.isSealed(sealed));
    assert.ok(!sealed.includes(k.seed) && !sealed.includes(k.seed.slice(2, 20)));
    assert.equal(kek.open(sealed, k.publicKey), k.seed);
    assert.notEqual(kek.seal(k.seed, k.publicKey), sealed, 'a fresh IV each time');
    assert.throws(() => kek.open(sealed, generateNkey('account').publicKey), SealedSeedError);
    assert.throws(
      () => new SeedSealer(Buffer.alloc(32, 8)).open(sealed, k.publicKey),
      /sealed with key-encryption key/,
    );
    const at = sealed.length - 3; // inside the tag
    const flipped = sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
    assert.throws(() => kek.open(flipped, k.publicKey), SealedSeedError);
    assert.throws(() => new SeedSealer(Buffer.alloc(16)), InvalidKek);
  });

  it('writes the KEK file 0600 whatever the umask, never over another, and reads it back', async () => {
    const dir = tempDir('kek').dir;
    const file = path.join(dir, KEK_FILE);
    await withUmask(0, () => writeKek(file));
    assert.equal(mode(file), 0o600);
    await assert.rejects(writeKek(file), /EEXIST/);
    assert.equal((await loadKek(file)).id.length, 11);
    writeFileSync(file, 'not a key\n');
    await assert.rejects(loadKek(file), InvalidKek);
    await assert.rejects(loadKek(path.join(dir, 'missing')), /cannot read/);
  });
});

describe('NatsAuthority with sealed seeds', () => {
  const { server, authority } = authoritiesOnServer();
  const sealer = () => new SeedSealer(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
  const grantCreds = (a: Awaited<ReturnType<typeof authority>>) => {
    const u = newUserCreds();
    const c = a.issue({
      userPublicKey: u.publicKey,
      name: 't',
      expiresAtMs: Date.now() + 30_000,
      pub: [],
      sub: ['_INBOX.>'],
      tags: [],
    });
    return formatCreds(c.jwt, u.seed);
  };

  it('keeps no seed in the clear in the store; a copy without the KEK signs nothing', async () => {
    const store = new MemoryNatsStateStore();
    const a = await authority({ store, sealer: sealer() });
    await a.rotate(); // a second key, made by the registry: sealed as well
    const data = (await store.load())?.data ?? '';
    assert.doesNotMatch(data, /"seed":"S/);
    assert.match(data, /"seed":"sealed:v1:/);
    assert.ok(!data.includes(server().keys.signingKey.seed));
    await (await connectCreds(server().url, grantCreds(a))).close();

    // The same store under another KEK (or none) refuses to start rather than sign with nothing.
    await assert.rejects(authority({ store, sealer: new SeedSealer(Buffer.alloc(32, 1)) }), SealedSeedError);
    await assert.rejects(authority({ store }), /sealed and no key-encryption key/);
  });

  it('seals the plain seeds of a store from before, once, on start', async () => {
    const store = new MemoryNatsStateStore();
    const plain = await authority({ store });
    await plain.rotate();
    await plain.close();
    assert.match((await store.load())?.data ?? '', /"seed":"SA/);
    const a = await authority({ store, sealer: sealer() });
    const data = (await store.load())?.data ?? '';
    assert.doesNotMatch(data, /"seed":"S/);
    await (await connectCreds(server().url, grantCreds(a))).close();
  });
});

describe('private files', () => {
  it('makes the SQLite folders 0700 and the database and its WAL 0600, whatever the umask', () => {
    const root = tempDir('private').dir;
    const file = path.join(root, 'a', 'b', 'snowgate.db');
    const store = withUmask(0, () => new SqliteStore(file));
    try {
      for (const d of [path.join(root, 'a'), path.join(root, 'a', 'b')]) assert.equal(mode(d), 0o700, d);
      assert.equal(mode(file), 0o600);
      assert.ok(existsSync(`${file}-wal`));
      assert.equal(mode(`${file}-wal`), 0o600);
    } finally {
      void store.close();
    }
    // A database made world-readable before is tightened on open.
    const old = path.join(root, 'old.db');
    writeFileSync(old, '', { mode: 0o644 });
    const again = new SqliteStore(old);
    void again.close();
    assert.equal(mode(old), 0o600);
    assert.equal(mode(root), 0o700, 'a folder snowgate did not make is left as it was (mkdtemp makes it 0700)');
  });

  it('adds a KEK to an init dir from before, once', async () => {
    const dir = tempDir('old-init').dir;
    await assert.rejects(addKek(dir), /run `snowgate init/);
    writeFileSync(path.join(dir, 'snowgate-nats.json'), '{}');
    const { file } = await withUmask(0, () => addKek(dir));
    assert.equal(mode(file), 0o600);
    assert.equal(readFileSync(file, 'utf8').trim().length, 43);
    await assert.rejects(addKek(dir), InitRefused);
  });
});
