import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry } from 'prom-client';
import { readPrometheusAttr } from './attr.js';
import { upstreamStatusFamily, workerFamilies } from './families.js';
import { MetricSums, toPromJson } from './aggregate.js';

const families = workerFamilies(readPrometheusAttr({ default_buckets: [10, 100] }).attr);
const schemas = [families.status, families.latency, families.bandwidth, families.functions];

test('series with the same labels add up across reports; new label sets are kept', () => {
  const sums = new MetricSums(schemas);
  sums.add([
    { name: 'http_status', series: [{ labels: ['200', '1', '/a', '', '', '', '10.0.0.1'], values: [3] }] },
    { name: 'http_latency', series: [{ labels: ['request', '1', '', '', '10.0.0.1'], values: [1, 2, 0, 150] }] },
  ]);
  sums.add([
    { name: 'http_status', series: [{ labels: ['200', '1', '/a', '', '', '', '10.0.0.1'], values: [4] }, { labels: ['404', '', '', '', '', '', ''], values: [1] }] },
    { name: 'http_latency', series: [{ labels: ['request', '1', '', '', '10.0.0.1'], values: [0, 1, 1, 550] }] },
  ]);
  assert.deepEqual(sums.families(), [
    { name: 'http_status', series: [{ labels: ['200', '1', '/a', '', '', '', '10.0.0.1'], values: [7] }, { labels: ['404', '', '', '', '', '', ''], values: [1] }] },
    { name: 'http_latency', series: [{ labels: ['request', '1', '', '', '10.0.0.1'], values: [1, 3, 1, 700] }] },
  ]);
});

test('a family that does not fit the schema (other buckets or labels, unknown name) is skipped and named', () => {
  const sums = new MetricSums(schemas);
  const skipped = sums.add([
    { name: 'http_latency', series: [{ labels: ['request', '1', '', '', ''], values: [1, 0, 0, 0, 0, 3] }] },
    { name: 'http_status', series: [{ labels: ['200', '1'], values: [1] }] },
    { name: 'mystery', series: [] },
    { name: 'bandwidth', series: [{ labels: ['egress', '1', '', '', ''], values: [10] }] },
  ]);
  assert.deepEqual(skipped, ['http_latency', 'http_status', 'mystery']);
  assert.deepEqual(sums.families().map((f) => f.name), ['bandwidth']);
});

test('rendered through prom-client: prefixed names, APISIX label order, cumulative buckets with _sum and _count', async () => {
  const status = toPromJson(families.status, [{ labels: ['200', '1', '/a', '', '', 'jack "j"', '10.0.0.1'], values: [7] }], 'apisix_');
  const latency = toPromJson(families.latency, [{ labels: ['request', '1', '', '', '10.0.0.1'], values: [1, 3, 1, 700] }], 'apisix_');
  const text = await AggregatorRegistry.aggregate([[status, latency]]).metrics();
  assert.equal(text, [
    '# HELP apisix_http_status HTTP status codes per service in APISIX',
    '# TYPE apisix_http_status counter',
    'apisix_http_status{code="200",route="1",matched_uri="/a",matched_host="",service="",consumer="jack \\"j\\"",node="10.0.0.1"} 7',
    '',
    '# HELP apisix_http_latency HTTP request latency in milliseconds per service in APISIX',
    '# TYPE apisix_http_latency histogram',
    'apisix_http_latency_bucket{type="request",route="1",service="",consumer="",node="10.0.0.1",le="10"} 1',
    'apisix_http_latency_bucket{type="request",route="1",service="",consumer="",node="10.0.0.1",le="100"} 4',
    'apisix_http_latency_bucket{type="request",route="1",service="",consumer="",node="10.0.0.1",le="+Inf"} 5',
    'apisix_http_latency_sum{type="request",route="1",service="",consumer="",node="10.0.0.1"} 700',
    'apisix_http_latency_count{type="request",route="1",service="",consumer="",node="10.0.0.1"} 5',
    '',
  ].join('\n'));
});

test('a `min` family keeps the smallest value of a series, even within one report', () => {
  const sums = new MetricSums([upstreamStatusFamily]);
  sums.add([{ name: 'upstream_status', series: [{ labels: ['/apisix/upstreams/1', '10.0.0.1', '80'], values: [1] }] }]);
  sums.add([{
    name: 'upstream_status',
    series: [
      { labels: ['/apisix/upstreams/1', '10.0.0.1', '80'], values: [1] },
      { labels: ['/apisix/upstreams/1', '10.0.0.2', '80'], values: [1] },
      { labels: ['/apisix/upstreams/1', '10.0.0.2', '80'], values: [0] },
    ],
  }]);
  assert.deepEqual(sums.families(), [{
    name: 'upstream_status',
    series: [{ labels: ['/apisix/upstreams/1', '10.0.0.1', '80'], values: [1] }, { labels: ['/apisix/upstreams/1', '10.0.0.2', '80'], values: [0] }],
  }]);
  assert.equal(toPromJson(upstreamStatusFamily, [], 'apisix_').aggregator, 'min');
});
