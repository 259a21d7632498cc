import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteIdentity } from '../../http/request-context.js';
import type { MatchedInfo } from '../../router/types.js';
import { GatewayContext } from '../../plugin/context.js';
import { PluginHarness } from '../../../test/helpers/plugin-harness.js';
import prometheus from '../prometheus.js';
import { readPrometheusAttr } from './attr.js';
import type { FamilyData } from './families.js';
import { RequestMetrics } from './request-metrics.js';

const harness = new PluginHarness(prometheus);

interface Finished {
  readonly route?: RouteIdentity;
  readonly matched?: MatchedInfo;
  readonly status?: number;
  readonly node?: string;
  readonly consumer?: string;
  /** Time since the request arrived, ms. */
  readonly ageMs?: number;
  /** Time spent forwarding upstream, ms; undefined: not sent upstream. */
  readonly upstreamMs?: number;
  /** Request headers (`$request_length` counts them). */
  readonly headers?: Record<string, string>;
  /** Bytes the client socket was sent for this response. */
  readonly bytesSent?: number;
}

/** A request as Node's parser leaves it (the harness builds it by hand). */
function parsed(target: string, headers: Record<string, string>): GatewayContext {
  const ctx = harness.request(target, { headers });
  GatewayContext.coreOf(ctx).req.httpVersion = '1.1';
  return ctx;
}

/** A request at its log phase, as the core leaves it. */
function finished(f: Finished): GatewayContext {
  const ctx = parsed('/hello?x=1', f.headers ?? { host: 'example.com' });
  const core = GatewayContext.coreOf(ctx);
  core.route = f.route;
  core.matched = f.matched;
  core.status = f.status;
  core.balancerIp = f.node;
  core.consumerName = f.consumer;
  (core as { startTime: number }).startTime = Date.now() - (f.ageMs ?? 0);
  if (f.upstreamMs !== undefined) {
    core.upstreamStartedAt = 1_000;
    core.upstreamEndedAt = 1_000 + f.upstreamMs;
  }
  if (f.bytesSent !== undefined) {
    // What handle-request records at the start; the socket then wrote the response.
    core.bytesSentBefore = 0;
    Object.defineProperty(core.req.socket, 'bytesWritten', { value: f.bytesSent });
  }
  return ctx;
}

function family(report: FamilyData[], name: string): Array<[string, number[]]> {
  const found = report.find((f) => f.name === name);
  assert.ok(found, `family ${name}`);
  return found.series.map((s) => [s.labels.join('|'), [...s.values]]);
}

const ROUTE: RouteIdentity = { id: '1', name: 'hello', serviceId: 's1', serviceName: 'greetings' };
const MATCHED: MatchedInfo = { _path: '/hello', _host: 'example.com', _method: 'GET' };

describe('http_status', () => {
  test('labels: code, route, matched_uri, matched_host, service, consumer, node; one series per label set', () => {
    const metrics = new RequestMetrics(readPrometheusAttr(undefined).attr);
    metrics.record(finished({ route: ROUTE, matched: MATCHED, status: 200, node: '127.0.0.1', consumer: 'jack' }), false);
    metrics.record(finished({ route: ROUTE, matched: MATCHED, status: 200, node: '127.0.0.1', consumer: 'jack' }), false);
    metrics.record(finished({ route: ROUTE, matched: MATCHED, status: 503, node: '127.0.0.2' }), false);
    assert.deepEqual(family(metrics.report(), 'http_status'), [
      ['200|1|/hello|example.com|s1|jack|127.0.0.1', [2]],
      ['503|1|/hello|example.com|s1||127.0.0.2', [1]],
    ]);
  });

  test('a client that left before the response head: 499, as nginx logs it', () => {
    const metrics = new RequestMetrics(readPrometheusAttr(undefined).attr);
    metrics.record(finished({ route: ROUTE, matched: MATCHED }), false);
    assert.deepEqual(family(metrics.report(), 'http_status'), [['499|1|/hello|example.com|s1||', [1]]]);
  });

  test('no route matched (a global rule): every label but the code is empty', () => {
    const metrics = new RequestMetrics(readPrometheusAttr(undefined).attr);
    metrics.record(finished({ status: 404 }), false);
    assert.deepEqual(family(metrics.report(), 'http_status'), [['404||||||', [1]]]);
  });

  test('prefer_name: route and service names, each falling back to its id', () => {
    const metrics = new RequestMetrics(readPrometheusAttr(undefined).attr);
    metrics.record(finished({ route: ROUTE, matched: MATCHED, status: 200 }), true);
    metrics.record(finished({ route: { id: '2', serviceId: 's2' }, matched: MATCHED, status: 200 }), true);
    metrics.record(finished({ route: ROUTE, matched: MATCHED, status: 200 }), false);
    assert.deepEqual(family(metrics.report(), 'http_status').map(([labels]) => labels), [
      '200|hello|/hello|example.com|greetings||',
      '200|2|/hello|example.com|s2||',
      '200|1|/hello|example.com|s1||',
    ]);
  });
});

describe('http_latency', () => {
  test('request, upstream and apisix (= request − upstream) in milliseconds, by bucket', () => {
    const metrics = new RequestMetrics(readPrometheusAttr({ default_buckets: [5, 50, 500] }).attr);
    metrics.record(finished({ route: ROUTE, status: 200, node: '10.0.0.1', ageMs: 257, upstreamMs: 7.5 }), false);
    const [request, upstream, apisix] = family(metrics.report(), 'http_latency');
    // Buckets 5, 50, 500, +Inf (not cumulative), then the sum (the request's age grows while the test runs).
    assert.deepEqual(request?.[0], 'request|1|s1||10.0.0.1');
    assert.deepEqual(request?.[1].slice(0, 4), [0, 0, 1, 0]);
    assert.ok((request?.[1][4] ?? 0) >= 257 && (request?.[1][4] ?? 0) < 300);
    assert.deepEqual(upstream, ['upstream|1|s1||10.0.0.1', [0, 1, 0, 0, 7.5]]);
    assert.deepEqual(apisix?.[0], 'apisix|1|s1||10.0.0.1');
    assert.deepEqual(apisix?.[1].slice(0, 4), [0, 0, 1, 0]);
    assert.equal(apisix?.[1][4], (request?.[1][4] ?? 0) - 7.5);
  });

  test('not sent upstream: no upstream observation, apisix = request', () => {
    const metrics = new RequestMetrics(readPrometheusAttr({ default_buckets: [100] }).attr);
    metrics.record(finished({ route: ROUTE, status: 401, ageMs: 3 }), false);
    const series = family(metrics.report(), 'http_latency');
    assert.deepEqual(series.map(([labels]) => labels), ['request|1|s1||', 'apisix|1|s1||']);
    assert.deepEqual(series[0]?.[1], series[1]?.[1]);
    assert.deepEqual(series[0]?.[1].slice(0, 2), [1, 0]);
  });

  test('an upstream time above the request time (two clocks) gives apisix 0, never negative', () => {
    const metrics = new RequestMetrics(readPrometheusAttr({ default_buckets: [1] }).attr);
    metrics.record(finished({ route: ROUTE, status: 200, ageMs: 2, upstreamMs: 60_000 }), false);
    assert.deepEqual(family(metrics.report(), 'http_latency')[2], ['apisix|1|s1||', [1, 0, 0]]);
  });
});

test('bandwidth: ingress adds $request_length (head and Content-Length), egress $bytes_sent', () => {
  const metrics = new RequestMetrics(readPrometheusAttr(undefined).attr);
  // "GET /hello?x=1 HTTP/1.1\r\n" + "Host: example.com\r\n" + "Content-Length: 5\r\n" + "\r\n" + 5 body bytes
  const headers = { Host: 'example.com', 'Content-Length': '5' };
  const length = 25 + 19 + 19 + 2 + 5;
  const first = finished({ route: ROUTE, status: 200, node: '10.0.0.1', headers, bytesSent: 1300 });
  assert.equal(first.var.request_length, String(length), 'the same as $request_length');
  assert.equal(first.var.bytes_sent, '1300', 'the same as $bytes_sent');
  metrics.record(first, false);
  metrics.record(finished({ route: ROUTE, status: 200, node: '10.0.0.1', headers, bytesSent: 700 }), false);
  assert.deepEqual(family(metrics.report(), 'bandwidth'), [
    ['ingress|1|s1||10.0.0.1', [2 * length]],
    ['egress|1|s1||10.0.0.1', [2000]],
  ]);
});

test('extra labels take their variable, or an empty value', () => {
  const { attr } = readPrometheusAttr({
    metrics: {
      http_status: { extra_labels: [{ upstream_addr: '$upstream_addr' }, { method: '$request_method' }] },
      bandwidth: { extra_labels: [{ host: '$host' }] },
    },
  });
  const metrics = new RequestMetrics(attr);
  assert.deepEqual(metrics.families.status.labelNames.slice(7), ['upstream_addr', 'method']);
  metrics.record(finished({ route: ROUTE, status: 200 }), false);
  assert.deepEqual(family(metrics.report(), 'http_status'), [['200|1|||s1||||GET', [1]]]);
  assert.deepEqual(family(metrics.report(), 'bandwidth').map(([labels]) => labels), ['ingress|1|s1|||localhost', 'egress|1|s1|||localhost']);
  assert.deepEqual(family(metrics.report(), 'http_latency').map(([labels]) => labels), ['request|1|s1||', 'apisix|1|s1||']);
});
