/**
 * The primary's exporter with in-process workers that answer scrapes the
 * way worker-main does (a `metrics.report` message back), a memory store,
 * and the export server on a real loopback port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { silentLogger } from '../../log.js';
import { parseConfig } from '../../config/load.js';
import type { ConfigStore } from '../../store/types.js';
import type { PrimaryMessage } from '../../cluster/messages.js';
import { MemoryStore } from '../../store/memory.js';
import { VERSION } from '../../version.js';
import { freePort } from '../../../test/helpers/net.js';
import type { ConnectionCounts, WorkerMetricsReport } from './families.js';
import { createPrometheusExporter, type MetricsWorker, type PrometheusExporter } from './exporter.js';

const NO_CONNECTIONS: ConnectionCounts = { accepted: 0, handled: 0, active: 0, reading: 0, writing: 0, waiting: 0, requests: 0 };

/** A report with `n` requests counted as `http_status{code="200",route="1"}`, and its connections. */
function report(n: number, connections: Partial<ConnectionCounts> = {}): WorkerMetricsReport {
  return {
    families: [{ name: 'http_status', series: [{ labels: ['200', '1', '/hello', '', '', '', '127.0.0.1'], values: [n] }] }],
    connections: { ...NO_CONNECTIONS, ...connections },
  };
}

/** A worker that answers each scrape with `current` (unless `silent`). */
class FakeWorker implements MetricsWorker {
  current: WorkerMetricsReport | null;
  silent = false;
  connected = true;
  exporter: PrometheusExporter | undefined;

  constructor(readonly id: number, current: WorkerMetricsReport | null) {
    this.current = current;
  }

  isConnected(): boolean {
    return this.connected;
  }

  send(message: PrimaryMessage): void {
    if (message.t !== 'metrics.scrape' || this.silent) return;
    const id = message.id;
    const answer = this.current;
    setImmediate(() => this.exporter?.handle(this, { t: 'metrics.report', id, report: answer }));
  }
}

interface Setup {
  readonly exporter: PrometheusExporter;
  readonly workers: FakeWorker[];
}

function setup(yaml: string, workers: FakeWorker[], store: ConfigStore = new MemoryStore()): Setup {
  const { config } = parseConfig(yaml, { file: '/etc/fngate/config.yaml', env: {} });
  const exporter = createPrometheusExporter({
    config,
    configStore: store,
    workerStore: store,
    storePrefix: '/apisix',
    workers: () => workers,
    logger: silentLogger,
    scrapeTimeoutMs: 200,
  });
  assert.ok(exporter);
  for (const w of workers) w.exporter = exporter;
  return { exporter, workers };
}

/** `name{labels} value` lines of the rendered text, by series. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const STATUS_200 = 'apisix_http_status{code="200",route="1",matched_uri="/hello",matched_host="",service="",consumer="",node="127.0.0.1"}';

describe('aggregation across workers', () => {
  test('the workers\' counts add up; connection gauges too', async () => {
    const { exporter } = setup('', [
      new FakeWorker(1, report(3, { accepted: 2, handled: 2, active: 1, waiting: 1, requests: 3 })),
      new FakeWorker(2, report(4, { accepted: 1, handled: 1, active: 1, writing: 1, requests: 4 })),
    ]);
    const s = samples(await exporter.render());
    assert.equal(s.get(STATUS_200), 7);
    assert.equal(s.get('apisix_http_requests_total'), 7);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="accepted"}'), 3);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="active"}'), 2);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="writing"}'), 1);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="waiting"}'), 1);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="reading"}'), 0);
    assert.equal(s.get(`apisix_node_info{hostname="${hostname()}",version="${VERSION}"}`), 1);
  });

  test('totals never go backwards: a worker that stops answering, drains or dies keeps what it reported', async () => {
    const a = new FakeWorker(1, report(5, { accepted: 1, handled: 1, requests: 5 }));
    const b = new FakeWorker(2, report(10, { accepted: 2, handled: 2, requests: 10 }));
    const { exporter, workers } = setup('', [a, b]);
    assert.equal(samples(await exporter.render()).get(STATUS_200), 15);

    // Silent (busy, or its channel is stuck): its last answer stands in, after the bounded wait.
    a.silent = true;
    b.current = report(11, { accepted: 2, handled: 2, requests: 11 });
    const started = Date.now();
    assert.equal(samples(await exporter.render()).get(STATUS_200), 16);
    assert.ok(Date.now() - started < 1_000);

    // Drains (reload): its final counts are kept once it is gone.
    exporter.handle(a, { t: 'metrics.final', report: report(6, { accepted: 1, handled: 1, requests: 6 }) });
    exporter.workerExited(a.id);
    workers.splice(workers.indexOf(a), 1);
    assert.equal(samples(await exporter.render()).get(STATUS_200), 17);

    // Dies without a word: the counts of its last answer stay.
    exporter.workerExited(b.id);
    workers.splice(workers.indexOf(b), 1);
    // Its replacement starts from zero.
    const c = new FakeWorker(3, report(2, { accepted: 1, handled: 1, active: 1, requests: 2 }));
    c.exporter = exporter;
    workers.push(c);
    const s = samples(await exporter.render());
    assert.equal(s.get(STATUS_200), 6 + 11 + 2);
    assert.equal(s.get('apisix_http_requests_total'), 6 + 11 + 2);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="accepted"}'), 1 + 2 + 1);
    assert.equal(s.get('apisix_nginx_http_current_connections{state="active"}'), 1, 'only live workers are active');
  });

  test('a worker that counts nothing answers null; a disconnected one is not asked', async () => {
    const idle = new FakeWorker(1, null);
    const gone = new FakeWorker(2, report(9));
    gone.connected = false;
    const { exporter } = setup('', [idle, gone]);
    const text = await exporter.render();
    assert.doesNotMatch(text, /apisix_http_status/);
    assert.match(text, /apisix_node_info/);
  });

  test('a report with other buckets than the node started with is left out', async () => {
    const odd: WorkerMetricsReport = { families: [{ name: 'http_latency', series: [{ labels: ['request', '1', '', '', ''], values: [1, 0, 5] }] }], connections: undefined };
    const { exporter } = setup('', [new FakeWorker(1, odd), new FakeWorker(2, report(1))]);
    const s = samples(await exporter.render());
    assert.equal(s.get(STATUS_200), 1);
    assert.ok(![...s.keys()].some((k) => k.startsWith('apisix_http_latency')));
  });
});

describe('upstream_status', () => {
  /** A report with the health of two targets of `/apisix/upstreams/1` as one worker sees them. */
  function health(a: 0 | 1, b: 0 | 1): WorkerMetricsReport {
    return {
      families: [{
        name: 'upstream_status',
        series: [{ labels: ['/apisix/upstreams/1', '127.0.0.1', '1980'], values: [a] }, { labels: ['/apisix/upstreams/1', '127.0.0.1', '1981'], values: [b] }],
      }],
      connections: undefined,
    };
  }
  const A = 'apisix_upstream_status{name="/apisix/upstreams/1",ip="127.0.0.1",port="1980"}';
  const B = 'apisix_upstream_status{name="/apisix/upstreams/1",ip="127.0.0.1",port="1981"}';

  test('a gauge per target: 1 only when every worker that checks it says healthy', async () => {
    const one = new FakeWorker(1, health(1, 1));
    const two = new FakeWorker(2, health(1, 0));
    const { exporter } = setup('', [one, two]);
    const text = await exporter.render();
    assert.match(text, /^# TYPE apisix_upstream_status gauge$/m);
    assert.match(text, /^# HELP apisix_upstream_status Upstream status from health check$/m);
    const s = samples(text);
    assert.equal(s.get(A), 1);
    assert.equal(s.get(B), 0);
  });

  test('it describes the present: a worker that is gone no longer counts', async () => {
    const one = new FakeWorker(1, health(1, 1));
    const two = new FakeWorker(2, health(0, 0));
    const { exporter, workers } = setup('', [one, two]);
    assert.equal(samples(await exporter.render()).get(A), 0);
    exporter.handle(two, { t: 'metrics.final', report: health(0, 0) });
    exporter.workerExited(two.id);
    workers.splice(workers.indexOf(two), 1);
    const s = samples(await exporter.render());
    assert.equal(s.get(A), 1);
    assert.equal(s.get(B), 1);
  });
});

describe('settings and node gauges', () => {
  test('metric_prefix renames every metric', async () => {
    const { exporter } = setup('plugin_attr:\n  prometheus:\n    metric_prefix: gw_\n', [new FakeWorker(1, report(1))]);
    const text = await exporter.render();
    assert.match(text, /^gw_http_status\{/m);
    assert.match(text, /^gw_node_info\{/m);
    assert.doesNotMatch(text, /apisix_/);
  });

  test('embedded store: etcd_reachable 1 and the newest revision per kind', async () => {
    const store = new MemoryStore();
    await store.put('/apisix/routes/1', '{}');
    await store.put('/apisix/routes/2', '{}');
    await store.put('/apisix/upstreams/1', '{}');
    await store.put('/apisix/routes/1', '{"uri":"/a"}');
    const { exporter } = setup('', [], store);
    const s = samples(await exporter.render());
    assert.equal(s.get('apisix_etcd_reachable'), 1);
    assert.equal(s.get('apisix_etcd_modify_indexes{key="routes"}'), 5);
    assert.equal(s.get('apisix_etcd_modify_indexes{key="upstreams"}'), 4);
    assert.equal(s.get('apisix_etcd_modify_indexes{key="consumers"}'), 0);
    assert.equal(s.get('apisix_etcd_modify_indexes{key="max_modify_index"}'), 5);
    assert.equal(s.get('apisix_etcd_modify_indexes{key="x_etcd_index"}'), 5);
  });

  test('a config store that does not answer: etcd_reachable 0', async () => {
    const store = new MemoryStore();
    const stuck = Object.assign(Object.create(store) as ConfigStore, { revision: () => new Promise<number>(() => undefined) });
    const { exporter } = setup('', [], stuck);
    assert.equal(samples(await exporter.render()).get('apisix_etcd_reachable'), 0);
  });

  test('standalone (yaml): no config server metrics, as APISIX without etcd', async () => {
    const { exporter } = setup('deployment:\n  role_traditional:\n    config_provider: yaml\n', []);
    const text = await exporter.render();
    assert.doesNotMatch(text, /etcd/);
  });

  test('not installed, or enable_export_server false: no exporter', () => {
    const make = (yaml: string) => createPrometheusExporter({
      config: parseConfig(yaml, { file: '/etc/fngate/config.yaml', env: {} }).config,
      configStore: new MemoryStore(),
      workerStore: new MemoryStore(),
      storePrefix: '/apisix',
      workers: () => [],
      logger: silentLogger,
    });
    assert.equal(make('plugins:\n  - key-auth\n'), undefined);
    assert.equal(make('plugin_attr:\n  prometheus:\n    enable_export_server: false\n'), undefined);
  });
});

describe('the export server', () => {
  let exporter: PrometheusExporter;
  let base: string;

  before(async () => {
    const port = await freePort();
    ({ exporter } = setup(`plugin_attr:\n  prometheus:\n    export_uri: /metrics\n    export_addr:\n      ip: 127.0.0.1\n      port: ${port}\n`, [new FakeWorker(1, report(2))]));
    await exporter.start();
    assert.deepEqual(exporter.bound, [{ ip: '127.0.0.1', port }]);
    base = `http://127.0.0.1:${port}`;
  });
  after(() => exporter.close());

  test('GET export_uri: the metrics in Prometheus text format', async () => {
    const res = await fetch(`${base}/metrics?x=1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(samples(await res.text()).get(STATUS_200), 2);
  });

  test('another path or method: 404, as APISIX', async () => {
    for (const [path, method] of [['/apisix/prometheus/metrics', 'GET'], ['/metrics', 'POST']] as const) {
      const res = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 404);
      assert.match(await res.text(), /404 Not Found/);
    }
  });

  test('a port already taken: logged, the node carries on without it', async () => {
    const { exporter: second } = setup(`plugin_attr:\n  prometheus:\n    export_addr:\n      ip: 127.0.0.1\n      port: ${exporter.attr.exportAddr.port}\n`, []);
    await second.start();
    assert.deepEqual(second.bound, []);
    await second.close();
  });
});
