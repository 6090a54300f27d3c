import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const YAML = `# a comment
server: { host: 0.0.0.0, port: 9090 }
store:
  kind: postgres
  url: postgres://snowgate:\${PGPASSWORD}@db:5432/snowgate
lease:
  ttl: 5m
  maxClockSkew: 1s
pools:
  - name: default
    epoch: 2024-01-01T00:00:00Z
    layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 }
    nodes: 0-511
issuers:
  - name: corp
    issuer: \${IDP:-https://idp.example.com}
    audience: [snowgate]
    claims: { env: prod, "/kubernetes.io/namespace": "team-*" }
`;

const JSON_TEXT = JSON.stringify({
  server: { host: '0.0.0.0', port: 9090 },
  store: { kind: 'postgres', url: 'postgres://snowgate:${PGPASSWORD}@db:5432/snowgate' },
  lease: { ttl: '5m', maxClockSkew: '1s' },
  pools: [
    {
      name: 'default',
      epoch: '2024-01-01T00:00:00Z',
      layout: { timestampBits: 41, nodeBits: 10, sequenceBits: 12 },
      nodes: '0-511',
    },
  ],
  issuers: [
    {
      name: 'corp',
      issuer: '${IDP:-https://idp.example.com}',
      audience: ['snowgate'],
      claims: { env: 'prod', '/kubernetes.io/namespace': 'team-*' },
    },
  ],
});

describe('config: files', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'snowgate-config-'));
    await writeFile(file('snowgate.yaml'), YAML);
    await writeFile(file('snowgate.json'), JSON_TEXT);
    await writeFile(file('typo.yaml'), YAML.replace('ttl: 5m', 'tll: 5m'));
    await writeFile(file('broken.yaml'), 'pools: [\n  - name: x\n');
    await writeFile(file('list.yaml'), '- just\n- a list\n');
    await writeFile(file('empty.yaml'), '');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loads YAML and JSON to the same configuration', () => {
    const env = { PGPASSWORD: 's3cret' };
    const y = loadConfig(file('snowgate.yaml'), env);
    const j = loadConfig(file('snowgate.json'), env);
    assert.deepEqual(y, j);
    assert.deepEqual(y.server, { host: '0.0.0.0', port: 9090, perAddress: { requestsPerSecond: 100, burst: 1000 } });
    assert.deepEqual(y.store, { kind: 'postgres', url: 'postgres://snowgate:s3cret@db:5432/snowgate' });
    assert.deepEqual(y.lease, {
      ttlMs: 300_000,
      maxClockSkewMs: 1000,
      maxPerPrincipal: 64,
      acquiresPerSecond: 10,
      acquireBurst: 100,
    });
    assert.deepEqual(y.pools[0]?.nodes, [[0, 511]]);
    assert.equal(y.issuers[0]?.issuer, 'https://idp.example.com');
    assert.deepEqual(y.issuers[0]?.claims, { env: 'prod', '/kubernetes.io/namespace': 'team-*' });
  });

  it('a YAML epoch stays a string, not a Date', () => {
    const c = loadConfig(file('snowgate.yaml'), { PGPASSWORD: 'x' });
    assert.equal(c.pools[0]?.epochMs, Date.parse('2024-01-01T00:00:00Z'));
  });

  it('expands the environment it is given', () => {
    const c = loadConfig(file('snowgate.json'), { PGPASSWORD: 'x', IDP: 'https://login.example.org' });
    assert.equal(c.issuers[0]?.issuer, 'https://login.example.org');
    assert.throws(() => loadConfig(file('snowgate.json'), {}), /store\.url: environment variable PGPASSWORD/);
  });

  it('names an unknown key in a file', () => {
    assert.throws(
      () => loadConfig(file('typo.yaml'), { PGPASSWORD: 'x' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /lease\.tll: unknown key/);
        return true;
      },
    );
  });

  it('refuses a missing file, a file that does not parse, and one that is not a mapping', () => {
    assert.throws(
      () => loadConfig(file('nope.yaml'), {}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /cannot read .*nope\.yaml/);
        return true;
      },
    );
    assert.throws(
      () => loadConfig(file('broken.yaml'), {}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /broken\.yaml is not valid YAML or JSON/);
        return true;
      },
    );
    assert.throws(() => loadConfig(file('list.yaml'), {}), ConfigError);
    assert.throws(() => loadConfig(file('empty.yaml'), {}), ConfigError);
  });
});

describe('config: the shipped files', () => {
  // This file runs as dist/test/config/files.test.js; config/ is at the package root.
  const shipped = (name: string) => fileURLToPath(new URL(`../../../config/${name}`, import.meta.url));

  it('config/snowgate.example.yaml, the full reference, loads as written', () => {
    const c = loadConfig(shipped('snowgate.example.yaml'), {
      SNOWGATE_ADMIN_TOKEN: 'a-long-enough-admin-token',
      SNOWGATE_CONSOLE_SECRET: 'a-console-client-secret',
    });
    assert.deepEqual(
      c.issuers.map((i) => i.name),
      ['corp', 'k8s', 'eks', 'gha', 'gitlab', 'okta', 'aws-sts', 'google', 'entra', 'aws'],
    );
    const byName = new Map(c.issuers.map((i) => [i.name, i]));
    assert.equal(byName.get('gha')?.issuer, 'https://token.actions.githubusercontent.com');
    assert.equal(byName.get('k8s')?.instanceClaim, '/kubernetes.io/pod/name');
    assert.equal(byName.get('entra')?.claims.tid, '72f988bf-86f1-41af-91ab-2d7cd011db47', 'the tenant is bound');
    assert.equal(byName.get('aws')?.kind, 'aws-iam');
    assert.ok(c.nats);
  });

  it('config/dev.yaml loads once snowgate dev fills its variables', () => {
    const c = loadConfig(shipped('dev.yaml'), {
      SNOWGATE_DEV_DATA: '/tmp/snowgate-dev',
      SNOWGATE_DEV_ISSUER: 'http://127.0.0.1:8081',
    });
    assert.deepEqual(c.store, { kind: 'sqlite', path: '/tmp/snowgate-dev/snowgate.db' });
    assert.equal(c.admin.issuer, 'dev');
  });
});
