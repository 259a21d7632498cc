import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BUCKETS, readPrometheusAttr } from './attr.js';

test('absent: APISIX defaults', () => {
  const { attr, problems } = readPrometheusAttr(undefined);
  assert.deepEqual(problems, []);
  assert.deepEqual(attr, {
    exportUri: '/apisix/prometheus/metrics',
    exportAddr: { ip: '127.0.0.1', port: 9091 },
    enableExportServer: true,
    metricPrefix: 'apisix_',
    buckets: DEFAULT_BUCKETS,
    extraLabels: { http_status: [], http_latency: [], bandwidth: [] },
  });
});

test('the keys APISIX documents are read; refresh_interval and expire are accepted', () => {
  const { attr, problems } = readPrometheusAttr({
    export_uri: '/metrics',
    export_addr: { ip: '0.0.0.0', port: 9100 },
    enable_export_server: false,
    metric_prefix: 'gw:',
    default_buckets: [5, 50, 500],
    refresh_interval: 15,
    metrics: {
      http_status: { extra_labels: [{ upstream_addr: '$upstream_addr' }], expire: 60 },
      bandwidth: { extra_labels: [{ host: '$host' }, { method: '$request_method' }] },
    },
  });
  assert.deepEqual(problems, []);
  assert.equal(attr.exportUri, '/metrics');
  assert.deepEqual(attr.exportAddr, { ip: '0.0.0.0', port: 9100 });
  assert.equal(attr.enableExportServer, false);
  assert.equal(attr.metricPrefix, 'gw:');
  assert.deepEqual(attr.buckets, [5, 50, 500]);
  assert.deepEqual(attr.extraLabels, {
    http_status: [{ name: 'upstream_addr', variable: 'upstream_addr' }],
    http_latency: [],
    bandwidth: [{ name: 'host', variable: 'host' }, { name: 'method', variable: 'request_method' }],
  });
});

test('a bad key takes its default and says why; the other keys still apply', () => {
  const { attr, problems } = readPrometheusAttr({
    metric_prefix: '1bad',
    default_buckets: [10, 5],
    export_addr: { ip: '127.0.0.1', port: 9200 },
  });
  assert.equal(attr.metricPrefix, 'apisix_');
  assert.deepEqual(attr.buckets, DEFAULT_BUCKETS);
  assert.deepEqual(attr.exportAddr, { ip: '127.0.0.1', port: 9200 });
  assert.deepEqual(problems.map((p) => [p.code, p.message]), [
    ['PROMETHEUS_ATTR_INVALID', 'plugin_attr.prometheus.metric_prefix: expected letters, digits, _ and :, not starting with a digit'],
    ['PROMETHEUS_ATTR_INVALID', 'plugin_attr.prometheus.default_buckets[1]: buckets must be in increasing order'],
  ]);
});

test('extra labels must be {name: $variable}, with a new, valid name', () => {
  const problem = (extra: unknown) => readPrometheusAttr({ metrics: { http_latency: { extra_labels: extra } } }).problems[0]?.message;
  assert.match(problem([{ le: '$host' }]) ?? '', /extra_labels\[0\]: label "le" is already a label of http_latency/);
  assert.match(problem([{ 'bad-name': '$host' }]) ?? '', /"bad-name" is not a valid label name/);
  assert.match(problem([{ host: 'host' }]) ?? '', /must be a variable such as \$upstream_addr/);
  assert.match(problem([{ a: '$a', b: '$b' }]) ?? '', /expected one \{label: \$variable\} pair/);
  assert.match(problem('host') ?? '', /expected a list/);
  assert.equal(problem([{ host: '$host' }]), undefined);
});
