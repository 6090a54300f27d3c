// The Grafana dashboard and the Prometheus alerts name only metrics that exist: the registry's
// from the /metrics of a running registry with NATS (a real nats-server, so the NATS metrics are
// there), the client SDK's from the names it promises.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startTestRegistry, type TestRegistry } from '../../src/testing/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/snowgate.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yaml');

/** What the client SDK exposes in a service's own /metrics, each with a `pool` label. */
const CLIENT_METRICS: Record<string, 'counter' | 'histogram'> = {
  snowgate_client_ids_minted_total: 'counter',
  snowgate_client_sequence_waits_total: 'counter',
  snowgate_client_clock_step_waits_total: 'counter',
  snowgate_client_fence_events_total: 'counter',
  snowgate_client_renew_seconds: 'histogram',
  snowgate_client_publish_seconds: 'histogram',
};

const PROMQL_WORDS = new Set(
  (
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ignoring ' +
    'group_left group_right and or unless bool offset rate irate increase delta idelta deriv predict_linear ' +
    'histogram_quantile abs ceil floor round clamp clamp_min clamp_max absent absent_over_time changes resets ' +
    'time timestamp vector scalar label_replace label_join sort sort_desc avg_over_time max_over_time ' +
    'min_over_time sum_over_time count_over_time last_over_time inf nan'
  ).split(' '),
);

/** The metric names a PromQL expression reads: labels, strings, durations and functions taken out. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n) && !/^\d/.test(n)))];
}

/** What the issue asks the dashboard to show of the registry: each is read by some panel. */
const DASHBOARD_MUST_SHOW = [
  'snowgate_lease_operations_total',
  'snowgate_pool_nodes',
  'snowgate_http_request_duration_seconds_bucket',
  'snowgate_token_rejections_total',
  'snowgate_ready',
  'snowgate_nats_account_update_seconds',
  'snowgate_nats_revocation_budget',
  'snowgate_nats_account_jwt_bytes',
  'snowgate_nats_revocations_total',
  'snowgate_nats_signing_key_age_seconds',
];

/** name → type from Prometheus text exposition's # TYPE lines. */
function exposed(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

/** Whether `name` is a series of a metric in `types` (histograms as _bucket, _sum, _count). */
function known(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && (types.get(base) === 'histogram' || types.get(base) === 'summary');
}

interface Panel {
  id: number;
  type: string;
  title: string;
  panels?: Panel[];
  datasource?: { uid: string };
  targets?: { expr: string; refId: string }[];
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('dashboards and alerts', () => {
  let reg: TestRegistry;
  let metricsText: string;
  let registryTypes: Map<string, string>;
  const clientTypes = new Map(Object.entries(CLIENT_METRICS));

  before(async () => {
    reg = await startTestRegistry({ nats: true, logLevel: 'silent' });
    metricsText = await (await fetch(`${reg.url}/metrics`)).text();
    registryTypes = exposed(metricsText);
  });
  after(async () => {
    await reg?.close();
  });

  function check(where: string, expr: string): void {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
    for (const n of names) {
      const ok = n.startsWith('snowgate_client_') ? known(n, clientTypes) : known(n, registryTypes);
      assert.ok(
        ok,
        `${where}: ${n} is not a metric ${n.startsWith('snowgate_client_') ? 'the client SDK' : 'the registry'} exposes`,
      );
    }
  }

  it('reads metric names out of PromQL', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le, pool) (rate(x_seconds_bucket{route="/v1/a:b", pool=~"$pool"}[5m]))) / y_total',
      ),
      ['x_seconds_bucket', 'y_total'],
    );
  });

  it('the registry exposes what the dashboard expects, readiness and NATS included', () => {
    for (const n of DASHBOARD_MUST_SHOW) assert.ok(known(n, registryTypes), n);
    // NATS is really on: its readiness check and the signing key's age are reported, not just declared.
    assert.match(metricsText, /^snowgate_ready\{check="nats"\} 1$/m);
    assert.match(metricsText, /^snowgate_nats_signing_key_age_seconds\{state="active"\} \d/m);
    assert.match(metricsText, /^snowgate_nats_signing_key_rotation_seconds 86400$/m);
  });

  it('a query naming a metric the registry or the SDK does not expose fails the check', () => {
    assert.throws(
      () => check('panel "p"', 'sum(rate(snowgate_no_such_total{pool="a"}[5m]))'),
      /panel "p": snowgate_no_such_total is not a metric the registry exposes/,
    );
    assert.throws(
      () => check('alert A', 'snowgate_client_no_such_total > 0'),
      /alert A: snowgate_client_no_such_total is not a metric the client SDK exposes/,
    );
    // _bucket, _sum and _count are series of histograms only, not of a gauge.
    assert.throws(() => check('panel "p"', 'snowgate_nats_account_update_seconds_bucket'), /is not a metric/);
    assert.throws(() => check('panel "p"', 'vector(1)'), /no metric in/);
  });

  it('every dashboard query names a metric that exists, with the data source variable', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      panels: Panel[];
      templating: { list: { name: string; definition?: string }[] };
    };
    assert.equal(dash.uid, 'snowgate');
    const panels = allPanels(dash.panels);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
    const queries = panels.filter((p) => p.type !== 'row');
    assert.ok(queries.length >= 15);
    for (const p of queries) {
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: no query`);
      for (const t of p.targets) check(`panel "${p.title}"`, t.expr);
    }
    for (const v of dash.templating.list) {
      if (v.definition === undefined) continue;
      const metric = /^label_values\((\w+), *\w+\)$/.exec(v.definition)?.[1];
      assert.ok(metric && known(metric, registryTypes), `variable ${v.name}: ${v.definition}`);
    }
    const clientSeen = new Set(
      queries.flatMap((p) => p.targets!.flatMap((t) => metricNames(t.expr))).map((n) => n.replace(/_bucket$/, '')),
    );
    for (const n of Object.keys(CLIENT_METRICS)) assert.ok(clientSeen.has(n), `no panel for ${n}`);
    const seen = new Set(queries.flatMap((p) => p.targets!.flatMap((t) => metricNames(t.expr))));
    for (const n of DASHBOARD_MUST_SHOW) assert.ok(seen.has(n), `no panel for ${n}`);
  });

  it('every alert names a metric that exists, and says what to do', () => {
    const file = parseYaml(readFileSync(ALERTS, 'utf8')) as {
      groups: {
        rules: { alert: string; expr: string; labels: { severity: string }; annotations: Record<string, string> }[];
      }[];
    };
    const rules = file.groups.flatMap((g) => g.rules);
    for (const r of rules) {
      check(`alert ${r.alert}`, r.expr);
      assert.match(r.labels.severity, /^(warning|critical)$/, r.alert);
      assert.ok(r.annotations.summary && r.annotations.description, r.alert);
    }
    const names = rules.map((r) => r.alert);
    for (const a of [
      'SnowgatePoolNearlyFull',
      'SnowgateRenewFailures',
      'SnowgateNatsNotReady',
      'SnowgateRevocationBudgetHigh',
      'SnowgateSigningKeyRotationOverdue',
    ])
      assert.ok(names.includes(a), a);
  });
});
