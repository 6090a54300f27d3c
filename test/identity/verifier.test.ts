import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from 'jose';
import type { IssuerConfig } from '../../src/config/types.js';
import { InvalidToken, PayloadTooLarge } from '../../src/errors.js';
import { TokenVerifier } from '../../src/identity/verifier.js';
import { newRsa, startTestIssuer, type TestIssuer } from './test-issuer.js';

function issuerConfig(name: string, idp: { issuer: string }, more: Partial<IssuerConfig> = {}): IssuerConfig {
  return {
    name,
    issuer: idp.issuer,
    audience: ['snowgate'],
    algorithms: ['RS256', 'ES256'],
    subjectClaim: 'sub',
    claims: {},
    dynamic: true,
    ...more,
  };
}

async function rejection(p: Promise<unknown>): Promise<InvalidToken> {
  try {
    await p;
  } catch (e) {
    if (e instanceof InvalidToken) return e;
    throw e;
  }
  assert.fail('the token was accepted');
}

describe('TokenVerifier', () => {
  let corp: TestIssuer;
  let prod: TestIssuer;
  let verifier: TokenVerifier;
  before(async () => {
    [corp, prod] = await Promise.all([startTestIssuer(), startTestIssuer()]);
    verifier = new TokenVerifier(
      [issuerConfig('corp', corp), issuerConfig('prod', prod, { algorithms: ['RS256'], jwksUri: prod.jwksUri })],
      { clockToleranceMs: 5000 },
    );
  });
  after(() => Promise.all([corp.close(), prod.close()]));

  it('accepts RS256 and ES256 tokens found through discovery', async () => {
    const rs = await verifier.verify(await corp.mint({ sub: 'rs', claims: { env: 'prod' } }));
    assert.equal(rs.issuer.name, 'corp');
    assert.equal(rs.subject, 'rs');
    assert.equal(rs.claims.env, 'prod');
    const es = await verifier.verify(await corp.mint({ sub: 'es', alg: 'ES256' }));
    assert.equal(es.subject, 'es');
    assert.equal(corp.stats.discovery, 1);
  });

  it('accepts tokens of an issuer configured with a jwksUri, without discovery', async () => {
    const v = await verifier.verify(await prod.mint({ sub: 'p' }));
    assert.equal(v.issuer.name, 'prod');
    assert.equal(prod.stats.discovery, 0);
  });

  it('accepts an audience list holding one of the configured audiences', async () => {
    assert.equal((await verifier.verify(await corp.mint({ aud: ['other', 'snowgate'] }))).subject, 'svc-a');
  });

  it('refuses every hostile or broken token with InvalidToken and a reason', async () => {
    const rogue = await newRsa();
    const cases: Record<string, [token: string, reason: string]> = {
      missing: ['', 'missing'],
      garbage: ['abc', 'malformed'],
      'three dots': ['a.b.c', 'malformed'],
      'alg none': [corp.none(), 'bad_algorithm'],
      'HS256 keyed with the RSA public key': [await corp.hsWithPublicKey(), 'bad_algorithm'],
      'an unpublished key under a published kid': [await corp.mint({ key: rogue.privateKey }), 'bad_signature'],
      'an unknown kid': [await corp.mint({ key: rogue.privateKey, kid: 'nope' }), 'unknown_kid'],
      'wrong audience': [await corp.mint({ aud: 'someone-else' }), 'bad_audience'],
      'issuer with a trailing slash': [await corp.mint({ iss: `${corp.issuer}/` }), 'unknown_issuer'],
      'an unconfigured issuer': [await corp.mint({ iss: 'https://idp.example.com' }), 'unknown_issuer'],
      'another issuer claiming to be corp': [await prod.mint({ iss: corp.issuer }), 'bad_signature'],
      expired: [await corp.mint({ expIn: -120 }), 'expired'],
      'not yet valid': [await corp.mint({ nbfIn: 120 }), 'not_yet_valid'],
      'no exp': [await corp.mint({ noExp: true }), 'missing_exp'],
      'an algorithm outside the allow-list': [await prod.mint({ alg: 'ES256' }), 'bad_algorithm'],
      'no subject': [await corp.mint({ sub: null }), 'bad_subject'],
      'an empty subject': [await corp.mint({ sub: '' }), 'bad_subject'],
      'a subject over 1024 characters': [await corp.mint({ sub: 's'.repeat(1025) }), 'bad_subject'],
      // PostgreSQL text cannot hold NUL: the principal's insert would fail as a 500.
      'a subject holding U+0000': [await corp.mint({ sub: 'svc-a\u0000admin' }), 'bad_subject'],
      // Stored as U+FFFD, so two such subjects would be one principal.
      'a subject holding a lone surrogate': [await corp.mint({ sub: 'svc-\ud800' }), 'bad_subject'],
    };
    for (const [name, [token, reason]] of Object.entries(cases)) {
      const e = await rejection(verifier.verify(token));
      assert.equal(e.reason, reason, `${name}: ${e.message}`);
      assert.equal(e.status, 401, name);
      // Short messages of our own, never jose's.
      assert.match(e.message, /^(missing bearer token|token [a-z0-9 ]+)$/, `${name}: ${e.message}`);
    }
  });

  it('accepts a subject of exactly 1024 characters', async () => {
    assert.equal((await verifier.verify(await corp.mint({ sub: 's'.repeat(1024) }))).subject.length, 1024);
  });

  it('accepts a subject outside the BMP, whose surrogates come in pairs', async () => {
    assert.equal((await verifier.verify(await corp.mint({ sub: 'svc-\u{1F600}' }))).subject, 'svc-\u{1F600}');
  });

  it('allows clock skew up to the tolerance, and no more', async () => {
    assert.equal((await verifier.verify(await corp.mint({ expIn: -2 }))).subject, 'svc-a');
    assert.equal((await verifier.verify(await corp.mint({ nbfIn: 2 }))).subject, 'svc-a');
    assert.equal((await rejection(verifier.verify(await corp.mint({ expIn: -8 })))).reason, 'expired');
    assert.equal((await rejection(verifier.verify(await corp.mint({ nbfIn: 8 })))).reason, 'not_yet_valid');
  });

  it('checks a repeated token once, and never accepts it past its exp', async () => {
    const strict = new TokenVerifier([issuerConfig('corp', corp)], { clockToleranceMs: 0 });
    const token = await corp.mint({ expIn: 2 });
    const first = await strict.verify(token);
    assert.equal(await strict.verify(token), first, 'the remembered result, not a second check');
    await sleep(2100); // exp has a resolution of one second
    assert.equal((await rejection(strict.verify(token))).reason, 'expired');
  });

  it('checks a token presented many times at once only once', async () => {
    const fresh = new TokenVerifier([issuerConfig('corp', corp)], { clockToleranceMs: 0 });
    const token = await corp.mint({ sub: 'rollout' });
    const all = await Promise.all(Array.from({ length: 50 }, () => fresh.verify(token)));
    assert.ok(
      all.every((v) => v === all[0]),
      'one result shared by every caller',
    );
    const bad = await corp.mint({ aud: 'someone-else' });
    const refusals = await Promise.allSettled([fresh.verify(bad), fresh.verify(bad)]);
    assert.deepEqual(
      refusals.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal((await rejection(fresh.verify(bad))).reason, 'bad_audience', 'a refusal is not remembered');
  });

  it('refuses a token over 16 KiB before any parsing or fetching', async () => {
    const fetches = corp.stats.jwks + corp.stats.discovery;
    const big = await corp.mint({ claims: { pad: 'x'.repeat(20 * 1024) } });
    await assert.rejects(verifier.verify(big), PayloadTooLarge);
    await assert.rejects(verifier.verify('x'.repeat(16 * 1024 + 1)), PayloadTooLarge);
    assert.equal(corp.stats.jwks + corp.stats.discovery, fetches);
  });

  it('reads the subject through a JSON pointer', async () => {
    const idp = await startTestIssuer();
    try {
      const v = new TokenVerifier(
        [issuerConfig('k8s', idp, { subjectClaim: '/kubernetes.io/serviceaccount/name', jwksUri: idp.jwksUri })],
        { clockToleranceMs: 0 },
      );
      const claims = { 'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'api' } } };
      assert.equal((await v.verify(await idp.mint({ claims }))).subject, 'api');
      const notString = { 'kubernetes.io': { serviceaccount: { name: 7 } } };
      assert.equal((await rejection(v.verify(await idp.mint({ claims: notString })))).reason, 'bad_subject');
      const withNul = { 'kubernetes.io': { serviceaccount: { name: 'api\u0000' } } };
      assert.equal((await rejection(v.verify(await idp.mint({ claims: withNul })))).reason, 'bad_subject');
    } finally {
      await idp.close();
    }
  });

  it('tries each key when a token has no kid and several keys fit its algorithm', async () => {
    const idp = await startTestIssuer();
    try {
      const second = await newRsa();
      await idp.publish('rsa-2', second);
      const v = new TokenVerifier([issuerConfig('corp', idp, { jwksUri: idp.jwksUri })], { clockToleranceMs: 0 });
      assert.equal((await v.verify(await idp.mint({ kid: null, key: second.privateKey }))).subject, 'svc-a');
      assert.equal((await v.verify(await idp.mint({ kid: null }))).subject, 'svc-a');
      const rogue = await newRsa();
      const e = await rejection(v.verify(await idp.mint({ kid: null, key: rogue.privateKey })));
      assert.equal(e.reason, 'bad_signature');
    } finally {
      await idp.close();
    }
  });

  it('refuses two issuer configs with the same issuer URL', () => {
    assert.throws(
      () => new TokenVerifier([issuerConfig('a', corp), issuerConfig('b', corp)], { clockToleranceMs: 0 }),
      /issuers a and b have the same issuer URL/,
    );
  });
});

/** n good tokens (subjects s0, s1, ...) and n signed by a stranger under made-up kids. */
async function burstOf(idp: TestIssuer, n: number): Promise<{ valid: string[]; unknown: string[] }> {
  const rogue = await newRsa();
  const ids = Array.from({ length: n }, (_, i) => i);
  return {
    valid: await Promise.all(ids.map((i) => idp.mint({ sub: `s${i}` }))),
    unknown: await Promise.all(ids.map((i) => idp.mint({ kid: `made-up-${i}`, key: rogue.privateKey }))),
  };
}

function reasonOf(e: unknown): string {
  if (e instanceof InvalidToken) return e.reason;
  throw e;
}

describe('TokenVerifier key fetching', () => {
  it('refetches the JWKS for unknown kids at most once per cooldown', async () => {
    const idp = await startTestIssuer();
    try {
      const v = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0, jwksCooldownMs: 60_000 });
      await v.verify(await idp.mint());
      assert.equal(idp.stats.jwks, 1);
      const rogue = await newRsa();
      const flood = await Promise.all(
        Array.from({ length: 25 }, (_, i) => idp.mint({ kid: `made-up-${i}`, key: rogue.privateKey })),
      );
      for (const token of flood) assert.equal((await rejection(v.verify(token))).reason, 'unknown_kid');
      assert.equal(idp.stats.jwks, 1, 'the first fetch is within the cooldown');
      assert.equal(idp.stats.discovery, 1);
    } finally {
      await idp.close();
    }
  });

  it('sees a key rotated in at the issuer once the cooldown has passed', async () => {
    const idp = await startTestIssuer();
    try {
      const cooldownMs = 1500;
      const v = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0, jwksCooldownMs: cooldownMs });
      const rotated = await newRsa();
      const fetchedAt = Date.now();
      await v.verify(await idp.mint());
      await idp.publish('rsa-2', rotated);
      const token = await idp.mint({ kid: 'rsa-2' });
      const early = await v.verify(token).then(
        () => 'accepted',
        (e: InvalidToken) => e.reason,
      );
      // Only meaningful if this machine got here inside the cooldown, which it does unless starved.
      if (Date.now() - fetchedAt < cooldownMs) assert.equal(early, 'unknown_kid');
      await sleep(cooldownMs + 100);
      assert.equal((await v.verify(token)).subject, 'svc-a');
      assert.equal(idp.stats.jwks, 2);
    } finally {
      await idp.close();
    }
  });

  it('does not touch the issuer at construction, and recovers when failed discovery comes back', async () => {
    const idp = await startTestIssuer();
    try {
      idp.failDiscovery = true;
      const cooldownMs = 500;
      const v = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0, jwksCooldownMs: cooldownMs });
      assert.equal(idp.stats.discovery, 0);
      const token = await idp.mint();
      assert.equal((await rejection(v.verify(token))).reason, 'jwks_unavailable');
      assert.equal(idp.stats.discovery, 1);
      // Within the cooldown a failed discovery is not retried: a token flood is not a discovery flood.
      assert.equal((await rejection(v.verify(token))).reason, 'jwks_unavailable');
      assert.equal(idp.stats.discovery, 1);
      idp.failDiscovery = false;
      await sleep(cooldownMs + 100);
      assert.equal((await v.verify(token)).subject, 'svc-a');
      assert.equal(idp.stats.discovery, 2);
      // Discovered metadata is cached.
      await v.verify(await idp.mint());
      assert.equal(idp.stats.discovery, 2);
    } finally {
      await idp.close();
    }
  });

  it('shares one discovery among concurrent first tokens', async () => {
    const idp = await startTestIssuer();
    try {
      const v = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0 });
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => idp.mint({ sub: `s${i}` })));
      const subjects = (await Promise.all(tokens.map((t) => v.verify(t)))).map((x) => x.subject);
      assert.deepEqual(
        subjects,
        tokens.map((_, i) => `s${i}`),
      );
      assert.equal(idp.stats.discovery, 1);
    } finally {
      await idp.close();
    }
  });

  it('refuses discovery metadata that names another issuer', async () => {
    const idp = await startTestIssuer();
    try {
      idp.discoveryIssuer = 'http://127.0.0.1:1';
      const v = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0 });
      assert.equal((await rejection(v.verify(await idp.mint()))).reason, 'jwks_unavailable');
    } finally {
      await idp.close();
    }
  });

  it('reports an unreachable JWKS as jwks_unavailable', async () => {
    const idp = await startTestIssuer();
    const token = await idp.mint();
    await idp.close();
    const viaUri = new TokenVerifier([issuerConfig('corp', idp, { jwksUri: idp.jwksUri })], { clockToleranceMs: 0 });
    assert.equal((await rejection(viaUri.verify(token))).reason, 'jwks_unavailable');
    const viaDiscovery = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0 });
    assert.equal((await rejection(viaDiscovery.verify(token))).reason, 'jwks_unavailable');
  });

  it('keeps using the keys last fetched while an aged JWKS cannot be refetched', async () => {
    const idp = await startTestIssuer();
    const fresh = await idp.mint({ sub: 'before' });
    const later = await idp.mint({ sub: 'during-outage' });
    const rogue = await newRsa();
    const unknown = await idp.mint({ kid: 'made-up', key: rogue.privateKey });
    const v = new TokenVerifier([issuerConfig('corp', idp, { jwksUri: idp.jwksUri })], {
      clockToleranceMs: 0,
      jwksMaxAgeMs: 100,
      jwksCooldownMs: 100,
    });
    assert.equal((await v.verify(fresh)).subject, 'before');
    await idp.close();
    await sleep(200);
    assert.equal((await v.verify(later)).subject, 'during-outage');
    assert.equal((await rejection(v.verify(unknown))).reason, 'unknown_kid');
  });

  it('refetches a failing JWKS at most once per cooldown, serving the stale keys, and recovers', async () => {
    const idp = await startTestIssuer();
    try {
      const cooldownMs = 1500;
      const v = new TokenVerifier([issuerConfig('corp', idp)], {
        clockToleranceMs: 0,
        jwksCooldownMs: cooldownMs,
        jwksMaxAgeMs: 100,
      });
      const { valid, unknown } = await burstOf(idp, 20);
      await v.verify(await idp.mint());
      assert.equal(idp.stats.jwks, 1);
      idp.failJwks = 'error';
      await sleep(200); // the set is aged: the next token asks for a fresh one
      const outageAt = Date.now();
      for (const token of valid) assert.match((await v.verify(token)).subject, /^s\d+$/);
      for (const token of unknown) assert.equal((await rejection(v.verify(token))).reason, 'unknown_kid');
      const together = await Promise.all([...valid, ...unknown].map((t) => v.verify(t).then(() => 'ok', reasonOf)));
      assert.deepEqual(new Set(together), new Set(['ok', 'unknown_kid']));
      // Only meaningful if this machine got here inside the cooldown, which it does unless starved.
      if (Date.now() - outageAt < cooldownMs) assert.equal(idp.stats.jwks, 2, 'one failed refetch for 80 tokens');
      assert.equal(idp.stats.discovery, 1);

      // Back up, with a key rotated in during the outage: seen on the first token after the cooldown.
      const rotated = await newRsa();
      await idp.publish('rsa-2', rotated);
      idp.failJwks = false;
      await sleep(cooldownMs + 100);
      const fetches = idp.stats.jwks;
      assert.equal((await v.verify(await idp.mint({ kid: 'rsa-2' }))).subject, 'svc-a');
      assert.equal(idp.stats.jwks, fetches + 1);
    } finally {
      await idp.close();
    }
  });

  it('does not wait on a hanging JWKS for every token once one fetch has timed out', async () => {
    const idp = await startTestIssuer();
    try {
      const timeoutMs = 300;
      const v = new TokenVerifier([issuerConfig('corp', idp, { jwksUri: idp.jwksUri })], {
        clockToleranceMs: 0,
        jwksCooldownMs: 30_000,
        jwksMaxAgeMs: 100,
        jwksTimeoutMs: timeoutMs,
      });
      const { valid, unknown } = await burstOf(idp, 20);
      await v.verify(await idp.mint());
      idp.failJwks = 'hang';
      await sleep(200);
      const start = Date.now();
      for (const token of valid) assert.match((await v.verify(token)).subject, /^s\d+$/);
      for (const token of unknown) assert.equal((await rejection(v.verify(token))).reason, 'unknown_kid');
      // One timeout, not forty (12 s).
      assert.ok(Date.now() - start < 10 * timeoutMs, `took ${Date.now() - start} ms`);
      assert.equal(idp.stats.jwks, 2);
    } finally {
      await idp.close();
    }
  });

  it('fails fast while neither discovery nor the JWKS has ever answered, once per cooldown each', async () => {
    const idp = await startTestIssuer();
    try {
      const cooldownMs = 1000;
      const v = new TokenVerifier([issuerConfig('corp', idp)], { clockToleranceMs: 0, jwksCooldownMs: cooldownMs });
      const { valid, unknown } = await burstOf(idp, 20);
      const burst = async (): Promise<void> => {
        const start = Date.now();
        for (const token of [...valid, ...unknown]) {
          assert.equal((await rejection(v.verify(token))).reason, 'jwks_unavailable');
        }
        const together = await Promise.all([...valid, ...unknown].map((t) => v.verify(t).then(() => 'ok', reasonOf)));
        assert.deepEqual(new Set(together), new Set(['jwks_unavailable']));
        assert.ok(Date.now() - start < cooldownMs, 'the burst outlasted the cooldown: this machine is starved');
      };

      idp.failDiscovery = true;
      idp.failJwks = 'error';
      await burst();
      assert.deepEqual(idp.stats, { discovery: 1, jwks: 0 });

      // Discovery is back, the JWKS is not: one discovery, then one JWKS fetch, per cooldown.
      idp.failDiscovery = false;
      await sleep(cooldownMs + 100);
      await burst();
      assert.deepEqual(idp.stats, { discovery: 2, jwks: 1 });

      idp.failJwks = false;
      await sleep(cooldownMs + 100);
      assert.equal((await v.verify(valid[0]!)).subject, 's0');
      assert.equal((await rejection(v.verify(unknown[0]!))).reason, 'unknown_kid');
      assert.deepEqual(idp.stats, { discovery: 2, jwks: 2 });
    } finally {
      await idp.close();
    }
  });

  it('reports a JWKS answering 404 as jwks_unavailable', async () => {
    const idp = await startTestIssuer();
    try {
      const v = new TokenVerifier([issuerConfig('corp', idp, { jwksUri: `${idp.issuer}/nothing-here` })], {
        clockToleranceMs: 0,
      });
      assert.equal((await rejection(v.verify(await idp.mint()))).reason, 'jwks_unavailable');
    } finally {
      await idp.close();
    }
  });

  it('verifies ES256 against an issuer that publishes only an EC key', async () => {
    const idp = await startTestIssuer();
    try {
      const ec = await generateKeyPair('ES256', { extractable: true });
      await idp.publish('ec-2', ec, 'ES256');
      const v = new TokenVerifier([issuerConfig('corp', idp, { algorithms: ['ES256'] })], { clockToleranceMs: 0 });
      assert.equal((await v.verify(await idp.mint({ alg: 'ES256', kid: 'ec-2' }))).subject, 'svc-a');
      assert.equal((await rejection(v.verify(await idp.mint()))).reason, 'bad_algorithm');
    } finally {
      await idp.close();
    }
  });
});
