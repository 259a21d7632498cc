/**
 * The prometheus plugin through the real gateway with two workers: requests
 * on fresh connections land on both, and the export server (in the primary,
 * on `plugin_attr.prometheus.export_addr` + `export_uri`) reports exactly the
 * requests sent — by status and route, latency counts, bandwidth, a global
 * rule plus a route instance counted once (`prefer_route`), serverless
 * function calls — and keeps the totals through a rolling reload.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

/** Series name with labels → value, from Prometheus' text format. */
type Samples = Map<string, number>;

function parseSamples(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function series(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** `after − before` for one series (absent counts as 0). */
function delta(before: Samples, after: Samples, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

describe('prometheus with two workers', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  let pluginDir: string;
  let metricsUrl: string;
  let deadPort: number;

  /** Scrape the export server. */
  async function scrape(): Promise<Samples> {
    const res = await request(metricsUrl);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    return parseSamples(await res.body.text());
  }

  /** `n` requests to `path`, each on a new connection, 10 at a time; statuses, worker pids and body bytes. */
  async function send(path: string, n: number): Promise<{ statuses: number[]; pids: Set<string>; bodyBytes: number }> {
    const statuses: number[] = [];
    const pids = new Set<string>();
    let bodyBytes = 0;
    for (let sent = 0; sent < n; sent += 10) {
      await Promise.all(Array.from({ length: Math.min(10, n - sent) }, async () => {
        const res = await request(`${gw.proxyUrl}${path}`, { reset: true });
        bodyBytes += (await res.body.arrayBuffer()).byteLength;
        statuses.push(res.statusCode);
        pids.add(String(res.headers['x-worker-pid']));
      }));
    }
    return { statuses, pids, bodyBytes };
  }

  before(async () => {
    pluginDir = mkdtempSync(join(tmpdir(), 'fngate-prometheus-'));
    // Tells which worker answered, on every response (it sits in the global rule).
    writeFileSync(join(pluginDir, 'worker-pid.mjs'), `
export default {
  name: 'worker-pid',
  priority: 1,
  schema: { type: 'object' },
  header_filter(conf, ctx) { ctx.response.setHeader('x-worker-pid', String(process.pid)); },
};
`);
    up = await startUpstream('up');
    const metricsPort = await freePort();
    do deadPort = await freePort(); while (deadPort === metricsPort);
    metricsUrl = `http://127.0.0.1:${metricsPort}/node/metrics`;
    gw = await startGatewayProcess({
      config: {
        nginx_config: { worker_processes: 2 },
        fngate: { custom_plugin_dirs: [pluginDir] },
        plugin_attr: { prometheus: { enable_export_server: true, export_uri: '/node/metrics', export_addr: { ip: '127.0.0.1', port: metricsPort } } },
      },
    });
    // The export server starts once the workers are ready, a moment after the proxy port answers.
    await waitFor(async () => {
      const res = await request(metricsUrl);
      await res.body.dump();
      return res.statusCode === 200;
    }, { what: `the export server at ${metricsUrl}` });
    const writes: Array<[string, unknown]> = [
      ['/apisix/admin/services/svc', { name: 'greeter', upstream: { nodes: { [up.node]: 1 } } }],
      ['/apisix/admin/routes/hello', { uri: '/hello', plugins: { prometheus: {} }, upstream: { nodes: { [up.node]: 1 } } }],
      // Also covered by the global rule: prefer_route makes the route's instance the only one.
      ['/apisix/admin/routes/named', { uri: '/named/*', name: 'named-route', service_id: 'svc', plugins: { prometheus: { prefer_name: true } } }],
      ['/apisix/admin/routes/down', { uri: '/down', plugins: { prometheus: {} }, upstream: { nodes: { [`127.0.0.1:${deadPort}`]: 1 }, retries: 0 } }],
      // Counted by the global rule only; answered by its function.
      ['/apisix/admin/routes/fn', {
        uri: '/fn',
        plugins: { 'serverless-pre-function': { phase: 'access', functions: ['return function (conf, ctx) { return [200, "from a function"] }'] } },
        upstream: { nodes: { [up.node]: 1 } },
      }],
      // A FaaS plugin calling a function that answers, and one that cannot be reached (→ 503).
      ['/apisix/admin/routes/faas', { uri: '/faas', plugins: { openfunction: { function_uri: `http://${up.node}/fn` } } }],
      ['/apisix/admin/routes/faas-down', { uri: '/faas-down', plugins: { openfunction: { function_uri: `http://127.0.0.1:${deadPort}/fn` } } }],
      // Last: a worker that has it has everything before it.
      ['/apisix/admin/global_rules/1', { plugins: { prometheus: {}, 'worker-pid': {} } }],
    ];
    for (const [path, body] of writes) {
      const res = await adminRequest(gw, 'PUT', path, body);
      assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status} ${res.text}`);
    }
    // Both workers serve the whole configuration (the requests made here count too; tests use deltas).
    const seen = new Set<string>();
    await waitFor(async () => {
      // Only a worker that loaded the global rule adds the header.
      for (const pid of (await send('/hello', 10)).pids) if (pid !== 'undefined') seen.add(pid);
      return seen.size === 2;
    }, { what: 'both workers serving the global rule', timeoutMs: 10_000 });
  });

  after(async () => {
    await gw?.stop();
    gw?.cleanup();
    await up?.close();
    rmSync(pluginDir, { recursive: true, force: true });
  });

  test('the scraped totals equal the requests sent, by status and route, across both workers', async () => {
    const before = await scrape();
    const hello = await send('/hello', 30);
    const named = await send('/named/x', 10);
    const down = await send('/down', 5);
    const fn = await send('/fn', 6);
    const missing = await send('/nowhere', 4);
    assert.deepEqual([...new Set(hello.statuses)], [200]);
    assert.deepEqual([...new Set(down.statuses)], [502]);
    assert.deepEqual([...new Set(missing.statuses)], [404]);
    const pids = new Set([...hello.pids, ...named.pids, ...down.pids, ...fn.pids, ...missing.pids]);
    assert.equal(pids.size, 2, 'both workers served the counted requests');
    const after = await scrape();

    const status = (labels: Record<string, string>) => delta(before, after, series('apisix_http_status', {
      code: '200', route: '', matched_uri: '', matched_host: '', service: '', consumer: '', node: '', ...labels,
    }));
    assert.equal(status({ route: 'hello', matched_uri: '/hello', node: '127.0.0.1' }), 30);
    // prefer_name: the route's and the service's names; the global rule did not count it again.
    assert.equal(status({ route: 'named-route', matched_uri: '/named/*', service: 'greeter', node: '127.0.0.1' }), 10);
    assert.equal(status({ code: '502', route: 'down', matched_uri: '/down' }), 5);
    assert.equal(status({ route: 'fn', matched_uri: '/fn' }), 6);
    assert.equal(status({ code: '404' }), 4);
    const allStatus = [...after.keys()].filter((k) => k.startsWith('apisix_http_status{'));
    const total = allStatus.reduce((n, k) => n + delta(before, after, k), 0);
    assert.equal(total, 30 + 10 + 5 + 6 + 4, 'nothing else was counted, nothing twice');

    // Every request is a connection and a request of the node's listeners.
    assert.ok(delta(before, after, 'apisix_http_requests_total') >= 55);
    assert.ok(delta(before, after, 'apisix_nginx_http_current_connections{state="accepted"}') >= 55);
  });

  test('latency: one request and one apisix observation per request, an upstream one when proxied', async () => {
    const before = await scrape();
    await send('/hello', 12);
    await send('/fn', 3);
    const after = await scrape();
    const count = (type: string, route: string, node: string) => delta(before, after, series('apisix_http_latency_count', { type, route, service: '', consumer: '', node }));
    assert.equal(count('request', 'hello', '127.0.0.1'), 12);
    assert.equal(count('upstream', 'hello', '127.0.0.1'), 12);
    assert.equal(count('apisix', 'hello', '127.0.0.1'), 12);
    assert.equal(count('request', 'fn', ''), 3);
    assert.equal(count('upstream', 'fn', ''), 0);
    // Buckets are cumulative up to +Inf (= the count); APISIX's default bounds.
    const bucket = (le: string) => delta(before, after, series('apisix_http_latency_bucket', { type: 'request', route: 'hello', service: '', consumer: '', node: '127.0.0.1', le }));
    assert.equal(bucket('+Inf'), 12);
    assert.ok(bucket('60000') === 12 && bucket('1') <= bucket('2'));
  });

  test('bandwidth: egress covers what the clients received, ingress what they sent', async () => {
    const before = await scrape();
    const { bodyBytes } = await send('/hello', 10);
    const after = await scrape();
    const labels = { route: 'hello', service: '', consumer: '', node: '127.0.0.1' };
    const egress = delta(before, after, series('apisix_bandwidth', { type: 'egress', ...labels }));
    const ingress = delta(before, after, series('apisix_bandwidth', { type: 'ingress', ...labels }));
    // Bodies plus a head of a few hundred bytes each.
    assert.ok(egress > bodyBytes && egress < bodyBytes + 10 * 1_000, `egress ${egress} for ${bodyBytes} body bytes`);
    // "GET /hello HTTP/1.1" and undici's few headers.
    assert.ok(ingress >= 10 * 40 && ingress < 10 * 1_000, `ingress ${ingress}`);
  });

  test('serverless and FaaS function calls are counted in serverless_function_duration_seconds', async () => {
    const before = await scrape();
    assert.deepEqual([...new Set((await send('/fn', 7)).statuses)], [200]);
    assert.deepEqual([...new Set((await send('/faas', 4)).statuses)], [200]);
    assert.deepEqual([...new Set((await send('/faas-down', 3)).statuses)], [503]);
    const after = await scrape();
    const calls = (plugin: string, route: string, outcome: string) =>
      delta(before, after, series('apisix_serverless_function_duration_seconds_count', { plugin, route, outcome }));
    assert.equal(calls('serverless-pre-function', 'fn', 'ok'), 7);
    assert.equal(calls('openfunction', 'faas', 'ok'), 4);
    assert.equal(calls('openfunction', 'faas-down', 'error'), 3);
    const inf = delta(before, after, series('apisix_serverless_function_duration_seconds_bucket', { plugin: 'serverless-pre-function', route: 'fn', outcome: 'ok', le: '+Inf' }));
    assert.equal(inf, 7);
  });

  test('node gauges: node_info, etcd_reachable for the embedded store, modify indexes', async () => {
    const samples = await scrape();
    assert.ok([...samples.keys()].some((k) => /^apisix_node_info\{hostname="[^"]+",version="[^"]+"\}$/.test(k)));
    assert.equal(samples.get('apisix_etcd_reachable'), 1);
    assert.ok((samples.get('apisix_etcd_modify_indexes{key="routes"}') ?? 0) > 0);
    assert.ok((samples.get('apisix_etcd_modify_indexes{key="global_rules"}') ?? 0) >= (samples.get('apisix_etcd_modify_indexes{key="routes"}') ?? 0));
  });

  test('the export server answers only export_uri', async () => {
    const res = await request(metricsUrl.replace('/node/metrics', '/apisix/prometheus/metrics'));
    assert.equal(res.statusCode, 404);
    await res.body.dump();
  });

  test('a rolling reload replaces both workers and the totals stay', async () => {
    await send('/hello', 10);
    const before = await scrape();
    const key = series('apisix_http_status', { code: '200', route: 'hello', matched_uri: '/hello', matched_host: '', service: '', consumer: '', node: '127.0.0.1' });
    const named = series('apisix_http_status', { code: '200', route: 'named-route', matched_uri: '/named/*', matched_host: '', service: 'greeter', consumer: '', node: '127.0.0.1' });
    // Counted after the last scrape: only the draining workers' final reports can carry these.
    const pidsBefore = (await send('/named/y', 10)).pids;
    gw.child.kill('SIGHUP');
    await waitFor(() => /reload complete/.test(gw.output()), { what: 'reload complete', timeoutMs: 20_000 });
    const afterReload = await scrape();
    assert.equal(afterReload.get(key), before.get(key), 'the replaced workers\' counts were kept');
    assert.equal(afterReload.get(named), (before.get(named) ?? 0) + 10, 'including those since the last scrape');
    const { pids } = await send('/hello', 10);
    assert.ok([...pids].every((pid) => !pidsBefore.has(pid)), 'new workers serve');
    assert.equal((await scrape()).get(key), (before.get(key) ?? 0) + 10);
  });
});
