import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { base, refused, resolve } from './helpers.js';

describe('config: defaults', () => {
  it('fills every default of a minimal configuration', () => {
    const c = resolve(base());
    assert.deepEqual(c.server, { host: '127.0.0.1', port: 8080, perAddress: { requestsPerSecond: 100, burst: 1000 } });
    assert.deepEqual(c.store, { kind: 'sqlite', path: path.resolve('./data/snowgate.db') });
    assert.deepEqual(c.lease, {
      ttlMs: 600_000,
      maxClockSkewMs: 2000,
      maxPerPrincipal: 64,
      acquiresPerSecond: 10,
      acquireBurst: 100,
    });
    assert.deepEqual(c.pools[0]?.nodes, [[0, 1023]]);
    assert.equal(c.pools[0]?.epochMs, Date.parse('2024-01-01T00:00:00Z'));
    assert.deepEqual(c.issuers[0], {
      name: 'corp',
      kind: 'oidc',
      issuer: 'https://idp.example.com',
      audience: ['snowgate'],
      algorithms: ['RS256', 'ES256'],
      subjectClaim: 'sub',
      maxTokenLifetimeMs: 86_400_000,
      claims: {},
      dynamic: true,
    });
    assert.deepEqual(c.admin, {
      roleClaim: 'groups',
      adminRole: 'snowgate-admins',
      viewerRole: 'snowgate-viewers',
      principals: [],
    });
    assert.equal(c.nats, undefined);
    assert.deepEqual(c.log, { level: 'info' });
  });

  it('reads durations in every unit', () => {
    for (const [ttl, ms] of [
      ['1500ms', 1500],
      ['30s', 30_000],
      ['10m', 600_000],
      ['1h', 3_600_000],
      ['1d', 86_400_000],
    ] as const) {
      const c = resolve({ ...base(), lease: { ttl, maxClockSkew: '250ms' } });
      assert.equal(c.lease.ttlMs, ms, ttl);
    }
  });

  it('fills the nats section: rotation, permission templates, an absolute dir', () => {
    const c = resolve({ ...base(), nats: { dir: './nats', servers: ['nats://127.0.0.1:4222'] } });
    assert.deepEqual(c.nats, {
      dir: path.resolve('./nats'),
      servers: ['nats://127.0.0.1:4222'],
      signingKeyRotationMs: 86_400_000,
      credentialTtlMs: 600_000,
      keyEncryptionKeyFile: path.resolve('./nats/key-encryption.key'),
      permissions: { publish: ['ids.{pool}.{node}.>'], subscribe: ['ids.{pool}.>', '_INBOX.>'] },
    });
  });

  it('takes a credential TTL shorter than the lease, never longer', () => {
    const nats = (credentialTtl: string) => ({ dir: './nats', servers: ['nats://127.0.0.1:4222'], credentialTtl });
    assert.equal(resolve({ ...base(), nats: nats('2m') }).nats?.credentialTtlMs, 120_000);
    assert.throws(() => resolve({ ...base(), nats: nats('11m') }), /nats\.credentialTtl: must be at most lease\.ttl/);
    assert.throws(() => resolve({ ...base(), nats: nats('1s') }), /nats\.credentialTtl: must be at least/);
  });

  it('takes nats.authCallout with a readerTtl of at most lease.ttl, and a readerTtl only with it', () => {
    const nats = (o: Record<string, unknown>) => ({ dir: './nats', servers: ['nats://127.0.0.1:4222'], ...o });
    assert.deepEqual(resolve({ ...base(), nats: nats({ authCallout: true }) }).nats?.authCallout, {
      readerTtlMs: 600_000,
    });
    assert.equal(
      resolve({ ...base(), nats: nats({ authCallout: true, readerTtl: '2m' }) }).nats?.authCallout?.readerTtlMs,
      120_000,
    );
    assert.equal(resolve({ ...base(), nats: nats({ authCallout: false }) }).nats?.authCallout, undefined);
    assert.throws(() => resolve({ ...base(), nats: nats({ readerTtl: '2m' }) }), /nats\.readerTtl: only with/);
    assert.throws(
      () => resolve({ ...base(), nats: nats({ authCallout: true, readerTtl: '11m' }) }),
      /nats\.readerTtl: must be at most lease\.ttl/,
    );
    assert.throws(() => resolve({ ...base(), nats: nats({ authCallout: 'yes' }) }), /nats\/authCallout|authCallout/);
  });

  it('passes a postgres store through', () => {
    const c = resolve({ ...base(), store: { kind: 'postgres', url: 'postgres://db/snowgate' } });
    assert.deepEqual(c.store, { kind: 'postgres', url: 'postgres://db/snowgate' });
  });
});

describe('config: presets', () => {
  it('a preset fills issuer, algorithms and subject claim', () => {
    const gha = {
      name: 'gha',
      preset: 'github-actions',
      audience: ['snowgate'],
      claims: { repository_owner_id: '42' },
    };
    const c = resolve({ ...base(), issuers: [gha] });
    assert.equal(c.issuers[0]?.issuer, 'https://token.actions.githubusercontent.com');
    assert.deepEqual(c.issuers[0]?.algorithms, ['RS256']);
    assert.equal(c.issuers[0]?.subjectClaim, 'sub');
  });

  it('what the configuration says wins over the preset', () => {
    const c = resolve({
      ...base(),
      issuers: [
        {
          name: 'gha',
          preset: 'github-actions',
          issuer: 'https://ghes.example.com/_services/token',
          audience: ['snowgate'],
          algorithms: ['ES256'],
          subjectClaim: 'repository',
        },
      ],
    });
    assert.equal(c.issuers[0]?.issuer, 'https://ghes.example.com/_services/token');
    assert.deepEqual(c.issuers[0]?.algorithms, ['ES256']);
    assert.equal(c.issuers[0]?.subjectClaim, 'repository');
  });

  it('refuses a public issuer without bound claims: anyone could get its tokens', () => {
    refused({ ...base(), issuers: [{ name: 'gha', preset: 'github-actions', audience: ['snowgate'] }] }, [
      /issuers\[0\]\.claims: required for github-actions/,
    ]);
    const byUrl = { name: 'g', issuer: 'https://accounts.google.com/', audience: ['snowgate'] };
    refused({ ...base(), issuers: [byUrl] }, [/issuers\[0\]\.claims: required for google/]);
  });

  it('a per-cluster preset still needs the issuer URL', () => {
    refused({ ...base(), issuers: [{ name: 'k8s', preset: 'kubernetes', audience: ['snowgate'] }] }, [
      /issuers\[0\]\.issuer: required/,
    ]);
  });

  it('an unknown preset is named, with the known ones', () => {
    refused({ ...base(), issuers: [{ name: 'x', preset: 'kubernets', audience: ['a'] }] }, [
      /issuers\[0\]\.preset/,
      /kubernets/,
      /kubernetes/,
    ]);
  });
});

describe('config: unknown keys and wrong types', () => {
  it('names an unknown key with its path: lease.tll', () => {
    const m = refused({ ...base(), lease: { tll: '10m' } }, [/lease\.tll/, /unknown key/]);
    assert.doesNotMatch(m, /ttl:/);
  });

  it('names unknown keys at the top level and deep inside lists', () => {
    refused({ ...base(), pool: [] }, [/^pool: unknown key/]);
    const c = base();
    c.pools[0].layout.nodebits = 10;
    refused(c, [/pools\[0\]\.layout\.nodebits: unknown key/]);
    const d = base();
    d.issuers[0].audiences = ['x'];
    refused(d, [/issuers\[0\]\.audiences: unknown key/]);
  });

  it('refuses wrong types, naming the key, with no coercion', () => {
    refused({ ...base(), server: { port: '8080' } }, [/server\.port/]);
    refused({ ...base(), server: { port: 70000 } }, [/server\.port/]);
    refused({ ...base(), lease: { maxPerPrincipal: 1.5 } }, [/lease\.maxPerPrincipal/]);
    refused({ ...base(), lease: { maxPerPrincipal: '64' } }, [/lease\.maxPerPrincipal/]);
    refused({ ...base(), lease: { ttl: 600 } }, [/lease\.ttl/]);
    refused({ ...base(), pools: { name: 'default' } }, [/pools/]);
    const c = base();
    c.issuers[0].dynamic = 'yes';
    refused(c, [/issuers\[0\]\.dynamic/]);
    const d = base();
    d.pools[0].layout.nodeBits = '10';
    refused(d, [/pools\[0\]\.layout\.nodeBits/]);
  });

  it('refuses a missing or empty pools list and a store of an unknown kind', () => {
    refused({ issuers: [] }, [/pools/]);
    refused({ ...base(), pools: [] }, [/pools/]);
    refused({ ...base(), store: { kind: 'redis', url: 'redis://x' } }, [/store/]);
  });
});

describe('config: durations', () => {
  it('refuses "ten", a bare number and fractions, naming the key', () => {
    for (const ttl of ['ten', '10', '1.5s', '10 m', '-1s', '']) {
      refused({ ...base(), lease: { ttl } }, [/lease\.ttl/], {});
    }
    refused({ ...base(), lease: { maxClockSkew: 'two seconds' } }, [/lease\.maxClockSkew/, /duration/]);
    refused({ ...base(), nats: { dir: 'n', servers: ['nats://127.0.0.1:4222'], signingKeyRotation: 'daily' } }, [
      /nats\.signingKeyRotation/,
    ]);
  });

  it('refuses a lease no longer than the clock skew it must allow for', () => {
    refused({ ...base(), lease: { ttl: '2s', maxClockSkew: '2s' } }, [/lease\.ttl/, /maxClockSkew/]);
    refused({ ...base(), lease: { ttl: '500ms', maxClockSkew: '100ms' } }, [/lease\.ttl: must be at least 1s/]);
    assert.equal(resolve({ ...base(), lease: { ttl: '3s', maxClockSkew: '2s' } }).lease.ttlMs, 3000);
  });
});

describe('config: pools', () => {
  const pool = (extra: Record<string, unknown>) => ({ ...base().pools[0], ...extra });

  it('refuses a layout over 63 bits', () => {
    refused({ ...base(), pools: [pool({ layout: { timestampBits: 42, nodeBits: 10, sequenceBits: 12 } })] }, [
      /pools\[0\]\.layout/,
      /more than 63/,
    ]);
    refused({ ...base(), pools: [pool({ layout: { timestampBits: 41, nodeBits: 30, sequenceBits: 0 } })] }, [
      /pools\[0\]\.layout/,
      /71/,
    ]);
  });

  it('refuses overlapping, reversed and out-of-range node ranges, naming the pool', () => {
    refused({ ...base(), pools: [pool({ nodes: '0-100,50-200' })] }, [/pools\[0\]\.nodes/, /overlap/]);
    refused({ ...base(), pools: [pool({ nodes: '100-50' })] }, [/pools\[0\]\.nodes/, /reversed/]);
    refused({ ...base(), pools: [pool({ nodes: '0-1024' })] }, [/pools\[0\]\.nodes/, /outside 0-1023/]);
    refused({ ...base(), pools: [pool({ nodes: 'all' })] }, [/pools\[0\]\.nodes/]);
    const ok = resolve({ ...base(), pools: [pool({ nodes: '0-9, 20, 1023' })] });
    assert.deepEqual(ok.pools[0]?.nodes, [
      [0, 9],
      [20, 20],
      [1023, 1023],
    ]);
  });

  it('two pools may use the same node numbers: each pool is its own ID space', () => {
    const c = resolve({ ...base(), pools: [pool({}), pool({ name: 'orders', nodes: '0-15' })] });
    assert.deepEqual(
      c.pools.map((p) => p.name),
      ['default', 'orders'],
    );
  });

  it('refuses an epoch in the future, or one that is not an RFC 3339 time', () => {
    refused({ ...base(), pools: [pool({ epoch: '2030-01-01T00:00:00Z' })] }, [/pools\[0\]\.epoch/, /future/]);
    refused({ ...base(), pools: [pool({ epoch: 'yesterday' })] }, [/pools\[0\]\.epoch/, /RFC 3339/]);
    refused({ ...base(), pools: [pool({ epoch: '1700000000000' })] }, [/pools\[0\]\.epoch/]);
  });

  it('refuses two pools of one name, and a name with odd characters', () => {
    refused({ ...base(), pools: [pool({}), pool({})] }, [/pools/, /"default" is used twice/]);
    refused({ ...base(), pools: [pool({ name: 'a.b' })] }, [/pools\[0\]\.name/]);
  });
});

describe('config: issuers', () => {
  const issuer = (extra: Record<string, unknown>) => ({ ...base().issuers[0], ...extra });

  it("refuses an unknown pool in an issuer's pools", () => {
    refused({ ...base(), issuers: [issuer({ pools: ['default', 'orderz'] })] }, [/issuers\[0\]\.pools/, /"orderz"/]);
    assert.deepEqual(resolve({ ...base(), issuers: [issuer({ pools: ['default'] })] }).issuers[0]?.pools, ['default']);
  });

  it('refuses http:// issuers and JWKS URIs off loopback', () => {
    refused({ ...base(), issuers: [issuer({ issuer: 'http://idp.example.com' })] }, [/issuers\[0\]\.issuer/, /https/]);
    refused({ ...base(), issuers: [issuer({ issuer: 'http://10.0.0.1:8081' })] }, [/issuers\[0\]\.issuer/]);
    refused({ ...base(), issuers: [issuer({ issuer: 'http://127.0.0.1.nip.io' })] }, [/issuers\[0\]\.issuer/]);
    refused({ ...base(), issuers: [issuer({ issuer: 'http://localhost.example.com' })] }, [/issuers\[0\]\.issuer/]);
    refused({ ...base(), issuers: [issuer({ jwksUri: 'http://idp.example.com/jwks' })] }, [/issuers\[0\]\.jwksUri/]);
    refused({ ...base(), issuers: [issuer({ issuer: 'ftp://idp.example.com' })] }, [/issuers\[0\]\.issuer/]);
    refused({ ...base(), issuers: [issuer({ issuer: 'idp.example.com' })] }, [/issuers\[0\]\.issuer/, /not a URL/]);
  });

  it('accepts http:// on loopback, for development and tests', () => {
    for (const url of ['http://127.0.0.1:8081', 'http://127.1.2.3', 'http://localhost:8081', 'http://[::1]:8081']) {
      assert.equal(resolve({ ...base(), issuers: [issuer({ issuer: url })] }).issuers[0]?.issuer, url);
    }
  });

  it('requires an audience', () => {
    const i = issuer({});
    delete i.audience;
    refused({ ...base(), issuers: [i] }, [/issuers\[0\]\.audience/]);
    refused({ ...base(), issuers: [issuer({ audience: [] })] }, [/issuers\[0\]\.audience/]);
  });

  it('refuses two issuers of one name, or two entries for one iss', () => {
    refused({ ...base(), issuers: [issuer({}), issuer({ issuer: 'https://other.example.com' })] }, [
      /issuers/,
      /"corp" is used twice/,
    ]);
    refused({ ...base(), issuers: [issuer({}), issuer({ name: 'corp2' })] }, [/issuers\[\]\.issuer/]);
  });

  it('refuses an algorithm outside the asymmetric allow-list', () => {
    refused({ ...base(), issuers: [issuer({ algorithms: ['HS256'] })] }, [/issuers\[0\]\.algorithms\[0\]/]);
    refused({ ...base(), issuers: [issuer({ algorithms: ['none'] })] }, [/issuers\[0\]\.algorithms\[0\]/]);
  });
});

describe('config: admin', () => {
  it('refuses an admin issuer that is not configured', () => {
    refused({ ...base(), admin: { issuer: 'okta' } }, [/admin\.issuer/, /"okta"/]);
  });

  it('refuses a bootstrap token too short to be a secret', () => {
    refused({ ...base(), admin: { bootstrapToken: 'changeme' } }, [/admin\.bootstrapToken/]);
    const c = resolve({ ...base(), admin: { bootstrapToken: 'a'.repeat(32), issuer: 'corp' } });
    assert.equal(c.admin.bootstrapToken, 'a'.repeat(32));
    assert.equal(c.admin.issuer, 'corp');
  });
});

describe('config: values that could never work', () => {
  const pool = (over: Record<string, unknown>) => ({
    ...base(),
    pools: [
      {
        name: 'p',
        epoch: '2024-01-01T00:00:00Z',
        layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
        ...over,
      },
    ],
  });

  it('refuses an epoch without Z or an offset: local time differs between replicas', () => {
    refused(pool({ epoch: '2024-01-01T00:00:00' }), [/pools\[0\]\.epoch/, /offset/]);
    assert.equal(
      resolve(pool({ epoch: '2024-01-01T01:00:00+01:00' })).pools[0]!.epochMs,
      Date.parse('2024-01-01T00:00:00Z'),
    );
  });

  it('refuses a pool whose time bits already ran out', () => {
    refused(pool({ layout: { timestampBits: 30, nodeBits: 10, sequenceBits: 12 } }), [
      /pools\[0\]\.layout\.timestampBits: ran out on 2024-01-13/,
    ]);
  });

  it('names store.kind for a store of an unknown kind', () => {
    refused({ ...base(), store: { kind: 'mysql', url: 'mysql://x' } }, [/^store\.kind: must be sqlite or postgres/]);
  });

  it('refuses a lease over a week, a bootstrap token with whitespace, an empty claim name', () => {
    refused({ ...base(), lease: { ttl: '8d' } }, [/lease\.ttl: must be at most 7d/]);
    refused({ ...base(), admin: { bootstrapToken: 'a long token with spaces' } }, [
      /admin\.bootstrapToken: .*whitespace/,
    ]);
    refused(
      {
        ...base(),
        issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audience: ['a'], claims: { '': 'x' } }],
      },
      [/issuers\[0\]\.claims: a claim name cannot be empty/],
    );
  });
});
