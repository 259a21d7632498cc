import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayContext } from '../plugin/context.js';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import prometheus from './prometheus.js';
import { workerMetricsReport } from './prometheus/worker-metrics.js';

const harness = new PluginHarness(prometheus);

function statusCount(): number {
  const family = workerMetricsReport()?.families.find((f) => f.name === 'http_status');
  return (family?.series ?? []).reduce((n, s) => n + (s.values[0] ?? 0), 0);
}

function served(): GatewayContext {
  const ctx = harness.request('/hello');
  const core = GatewayContext.coreOf(ctx);
  core.req.httpVersion = '1.1';
  core.route = { id: '1' };
  core.status = 200;
  return ctx;
}

test('APISIX\'s definition: priority 500, prefer_route, schema with prefer_name (default false)', () => {
  assert.equal(prometheus.priority, 500);
  assert.equal(prometheus.runPolicy, 'prefer_route');
  assert.deepEqual(harness.conf({}), { prefer_name: false });
  assert.match(harness.check({ prefer_name: 'yes' }) ?? '', /prefer_name/);
});

// One test: the worker's counts are per process, and these steps build on each other.
test('counts in the log phase from init until destroy, and across a reload', async () => {
  const errors: string[] = [];
  const log = { error: (...a: unknown[]) => errors.push(a.join(' ')), warn: () => undefined, info: () => undefined, debug: () => undefined };
  const conf = harness.conf({});

  await harness.run('log', conf, served());
  assert.equal(workerMetricsReport(), undefined, 'nothing is counted before init');

  await prometheus.init?.({ attr: { metric_prefix: '9x', export_uri: '/metrics' }, log });
  assert.deepEqual(errors, ['plugin_attr.prometheus.metric_prefix: expected letters, digits, _ and :, not starting with a digit; using the default']);
  await harness.run('log', conf, served());
  await harness.run('log', conf, served());
  assert.equal(statusCount(), 2);

  // A plugin reload: destroy, then init with the same settings; the counts carry over.
  await prometheus.destroy?.();
  await harness.run('log', conf, served());
  assert.equal(statusCount(), 2, 'not counted between destroy and init');
  await prometheus.init?.({ attr: {}, log });
  await harness.run('log', conf, served());
  assert.equal(statusCount(), 3);
});
