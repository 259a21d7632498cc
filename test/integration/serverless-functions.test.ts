/**
 * serverless-pre-function / serverless-post-function through the real
 * gateway (spec/serverless.md §2): the behaviours of APISIX's
 * t/plugin/serverless.t and t/cli/test_serverless.sh, the documented usage
 * patterns, fngate's multi-phase form and allowed modules, the watchdog
 * report for a function that never returns, and the isolated sandbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

type LogLine = Record<string, unknown> & { msg?: string };

function logLines(gw: GatewayProcess): LogLine[] {
  const out: LogLine[] = [];
  for (const line of gw.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut in the middle of a write; the next poll sees it whole
    }
  }
  return out;
}

/** Wait for a log line matching `match`; returns it. */
async function logged(gw: GatewayProcess, match: (line: LogLine) => boolean, what: string): Promise<LogLine> {
  let found: LogLine | undefined;
  await waitFor(() => (found = logLines(gw).find(match)) !== undefined, { what, timeoutMs: 10_000 });
  return found as LogLine;
}

async function get(gw: GatewayProcess, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await request(`${gw.proxyUrl}${path}`, { method: (options.method ?? 'GET') as 'GET', headers: options.headers ?? {}, body: options.body ?? null });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** PUT a route and wait until the gateway serves it (any answer but "route not found"). */
async function putRoute(gw: GatewayProcess, id: string, route: Record<string, unknown>): Promise<void> {
  const put = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, route);
  assert.ok(put.status === 200 || put.status === 201, put.text);
  const probe = (route.uri as string).replace('*', 'x');
  await waitFor(async () => (await get(gw, probe, { headers: { host: 'probe.invalid' } })).body !== '{"error_msg":"404 Route Not Found"}\n', { what: `route ${id}` });
}

const PRE = 'serverless-pre-function';
const POST = 'serverless-post-function';

describe('serverless functions: the vm sandbox', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  let jsonUp: TestUpstream;

  before(async () => {
    up = await startUpstream('up');
    jsonUp = await startUpstream('json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'json', secret: 's3cr3t', items: [1, 2] }));
    });
    gw = await startGatewayProcess({ config: { fngate: { serverless: { allowed_modules: ['node:crypto'] } } } });
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
    await jsonUp.close();
  });

  const upstream = () => ({ nodes: { [up.node]: 1 } });

  test('the default phase is access; post-function answering 201 ends the request (serverless.t #1, #6, #7)', async () => {
    await putRoute(gw, 'default', {
      uri: '/default',
      upstream: upstream(),
      plugins: {
        [PRE]: { functions: ['return function (conf, ctx) { log.error("serverless pre function, phase:", conf.phase) }'] },
        [POST]: { functions: ['return function (conf, ctx) { log.error("serverless post function"); return 201 }'] },
      },
    });
    const stored = await adminRequest(gw, 'GET', '/apisix/admin/routes/default');
    assert.equal((stored.json as { value: { plugins: Record<string, Record<string, unknown>> } }).value.plugins[PRE]?.phase, undefined, 'defaults are not stored');
    const res = await get(gw, '/default');
    assert.equal(res.status, 201);
    assert.equal(res.body, '');
    const pre = await logged(gw, (l) => l.msg === 'serverless pre function, phase: access', 'the pre-function log line');
    const post = await logged(gw, (l) => l.msg === 'serverless post function', 'the post-function log line');
    assert.deepEqual([pre.route, pre.plugin, pre.function], ['default', PRE, 'functions[0]']);
    assert.ok((pre.time as number) <= (post.time as number), 'pre ran before post (serverless.t #8)');
  });

  test('phase log runs after the response; two functions run in order (serverless.t #9, #10)', async () => {
    await putRoute(gw, 'log-phase', {
      uri: '/log-phase',
      upstream: upstream(),
      plugins: {
        [PRE]: { phase: 'log', functions: ['return (conf, ctx) => { log.warn("after the response:", ctx.var.status) }'] },
        [POST]: { phase: 'rewrite', functions: ['return () => { log.warn("rewrite one") }', 'return () => { log.warn("rewrite two") }'] },
      },
    });
    const res = await get(gw, '/log-phase');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).name, 'up');
    await logged(gw, (l) => l.msg === 'after the response: 200', 'the log-phase line');
    const lines = logLines(gw).filter((l) => l.msg === 'rewrite one' || l.msg === 'rewrite two').map((l) => l.msg);
    assert.deepEqual(lines.slice(0, 2), ['rewrite one', 'rewrite two']);
  });

  test('pre runs before authentication, post after it; _meta.priority swaps them', async () => {
    const consumer = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'jack', plugins: { 'key-auth': { key: 'jack-key' } } });
    assert.ok(consumer.status < 300, consumer.text);
    await putRoute(gw, 'order', {
      uri: '/order',
      upstream: upstream(),
      plugins: {
        'key-auth': {},
        [PRE]: { phase: 'rewrite', functions: ['return (conf, ctx) => { ctx.seen = ["pre:" + (ctx.consumer_name ?? "-")] }'] },
        [POST]: { phase: 'rewrite', functions: ['return (conf, ctx) => [200, ctx.seen.concat("post:" + ctx.consumer_name).join(",")]'] },
      },
    });
    await waitFor(async () => (await get(gw, '/order', { headers: { apikey: 'jack-key' } })).status === 200, { what: 'consumer known' });
    assert.equal((await get(gw, '/order', { headers: { apikey: 'jack-key' } })).body, 'pre:-,post:jack');
    assert.equal((await get(gw, '/order')).status, 401, 'key-auth answered between them: post never ran');

    await putRoute(gw, 'swapped', {
      uri: '/swapped',
      upstream: upstream(),
      plugins: {
        [PRE]: { _meta: { priority: -2000 }, functions: ['return (conf, ctx) => [200, (ctx.seen ?? []).concat("pre").join(",")]'] },
        [POST]: { _meta: { priority: 10000 }, functions: ['return (conf, ctx) => { ctx.seen = ["post"] }'] },
      },
    });
    assert.equal((await get(gw, '/swapped')).body, 'post,pre');
  });

  test('closures persist across requests of one route version; an update starts them over (serverless.t #11)', async () => {
    // Requests without ?count only report the configuration version, so polling does not move the counter.
    const route = {
      uri: '/counter',
      upstream: upstream(),
      plugins: {
        [PRE]: {
          functions: ['let count = 1; return function (conf, ctx) { if (!ctx.var.arg_count) { ctx.response.setHeader("x-version", ctx.conf_version); return } count++; log.error("serverless pre function:" + count); return [200, String(count)] }'],
        },
      },
    };
    await putRoute(gw, 'counter', route);
    assert.equal((await get(gw, '/counter?count=1')).body, '2', 'the first request sees 2');
    assert.equal((await get(gw, '/counter?count=1')).body, '3');
    await logged(gw, (l) => l.msg === 'serverless pre function:2' && l.route === 'counter', 'the APISIX test\'s log line');

    const version = (await get(gw, '/counter')).headers['x-version'];
    const patched = await adminRequest(gw, 'PATCH', '/apisix/admin/routes/counter', { desc: 'v2' });
    assert.equal(patched.status, 200, patched.text);
    await waitFor(async () => (await get(gw, '/counter')).headers['x-version'] !== version, { what: 'the new route version' });
    assert.equal((await get(gw, '/counter?count=1')).body, '2', 'a new version starts over');
  });

  test('async functions, [403, "forbidden"] stopping the next function, JSON bodies (serverless.t #15)', async () => {
    await putRoute(gw, 'verdicts', {
      uri: '/verdicts',
      upstream: upstream(),
      plugins: {
        [PRE]: {
          functions: [
            'return async (conf, ctx) => { if (ctx.var.arg_deny) return [403, "forbidden"] }',
            'return async (conf, ctx) => { log.error("second function ran"); if (ctx.request.method === "POST") { const body = await ctx.request.body(); return [200, { got: body.toString(), sum: 1 + 1 }] } }',
          ],
        },
      },
    });
    const ran = () => logLines(gw).filter((l) => l.msg === 'second function ran' && l.route === 'verdicts').length;
    const before = ran();
    const denied = await get(gw, '/verdicts?deny=1');
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'forbidden');
    const posted = await get(gw, '/verdicts', { method: 'POST', body: 'hello' });
    assert.equal(posted.status, 200);
    assert.equal(posted.body, '{"got":"hello","sum":2}\n');
    await logged(gw, (l) => l.msg === 'second function ran' && l.route === 'verdicts' && ran() === before + 1, 'the POST ran the second function');
    assert.equal(ran(), before + 1, 'the 403 stopped the second function');
    assert.equal(JSON.parse((await get(gw, '/verdicts')).body).name, 'up', 'no verdict: proxied');
  });

  test('a route without upstream redirects with a Location header (serverless.t #12)', async () => {
    await putRoute(gw, 'redirect', {
      uri: '/hello',
      plugins: {
        [PRE]: { functions: ['return function (conf, ctx) { if (ctx.var.scheme === "http" && ctx.var.host === "foo.com") { ctx.response.setHeader("Location", "https://foo.com" + ctx.var.request_uri); return 301 } }'] },
      },
    });
    const res = await get(gw, '/hello?a=1', { headers: { host: 'foo.com' } });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'https://foo.com/hello?a=1');
    assert.equal((await get(gw, '/hello', { headers: { host: 'bar.com' } })).status, 503, 'otherwise the missing upstream answers');
  });

  test('post-function reads conf.phase and the match, and rewrites upstream_uri (serverless.t #13)', async () => {
    await putRoute(gw, 'upstream-uri', {
      uri: '/rewrite-me',
      upstream: upstream(),
      plugins: {
        [POST]: { functions: ['return function (conf, ctx) { log.error("phase:", conf.phase, "path:", ctx.curr_req_matched._path); ctx.var.upstream_uri = "/server_port" }'] },
      },
    });
    const res = await get(gw, '/rewrite-me');
    assert.equal(JSON.parse(res.body).url, '/server_port');
    await logged(gw, (l) => l.msg === 'phase: access path: /rewrite-me', 'conf.phase and _path');
  });

  test('ctx.var.args is the raw query string (serverless.t #14)', async () => {
    await putRoute(gw, 'args', {
      uri: '/echo',
      upstream: upstream(),
      plugins: {
        [POST]: { functions: ['return (conf, ctx) => [200, ctx.var.args + " -> " + new URLSearchParams(ctx.var.args).get("args")]'] },
      },
    });
    assert.equal((await get(gw, '/echo?args=%40%23%24%25%5E%26')).body, 'args=%40%23%24%25%5E%26 -> @#$%^&');
  });

  test('before_proxy runs once per attempt with the same ctx and each balancer address (test_serverless.sh)', async () => {
    const dead = await freePort();
    await putRoute(gw, 'attempts', {
      uri: '/attempts',
      upstream: {
        type: 'roundrobin',
        nodes: [{ host: '127.0.0.1', port: dead, weight: 1, priority: 1 }, { host: '127.0.0.1', port: up.port, weight: 1, priority: 0 }],
      },
      plugins: {
        [PRE]: {
          phase: 'before_proxy',
          functions: ['return (conf, ctx) => { ctx.count = (ctx.count ?? 0) + 1; log.error("attempt", ctx.count) }'],
        },
        // ctx.var caches a value once read (APISIX semantics), so the address is read once, after the last attempt.
        [POST]: { phase: 'header_filter', functions: ['return (conf, ctx) => { ctx.response.setHeader("x-attempts", ctx.count + " " + ctx.var.balancer_ip + ":" + ctx.var.balancer_port) }'] },
      },
    });
    const before = logLines(gw).filter((l) => String(l.msg).startsWith('attempt ')).length;
    const res = await get(gw, '/attempts');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-attempts'], `2 127.0.0.1:${up.port}`, 'one ctx for both attempts and the response; the second node answered');
    await waitFor(() => logLines(gw).filter((l) => String(l.msg).startsWith('attempt ')).length >= before + 2, { what: 'both attempts logged' });
    const attempts = logLines(gw).filter((l) => String(l.msg).startsWith('attempt ')).slice(before, before + 2).map((l) => l.msg);
    assert.deepEqual(attempts, ['attempt 1', 'attempt 2']);

    await putRoute(gw, 'attempt-403', { uri: '/attempt-403', upstream: upstream(), plugins: { [PRE]: { phase: 'before_proxy', functions: ['return () => 403'] } } });
    const denied = await get(gw, '/attempt-403');
    assert.equal(denied.status, 403);
    assert.match(denied.body, /403 Forbidden/);
  });

  test('header_filter clears Content-Length, body_filter edits the JSON body (the documented pattern)', async () => {
    await putRoute(gw, 'json-edit', {
      uri: '/json-edit',
      upstream: { nodes: { [jsonUp.node]: 1 } },
      plugins: {
        [PRE]: { phase: 'header_filter', functions: ['return (conf, ctx) => { ctx.response.setHeader("Content-Length", null) }'] },
        [POST]: {
          phase: 'body_filter',
          functions: ['return (conf, ctx) => { const body = ctx.response.holdBody(); if (body === undefined) return; const json = JSON.parse(body.toString()); delete json.secret; ctx.response.chunk = JSON.stringify(json) }'],
        },
      },
    });
    const res = await get(gw, '/json-edit');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { name: 'json', items: [1, 2] });
  });

  test('the phases form: one instance with functions in several phases sharing ctx', async () => {
    await putRoute(gw, 'multi', {
      uri: '/multi',
      upstream: { nodes: { [jsonUp.node]: 1 } },
      plugins: {
        [POST]: {
          phases: {
            rewrite: ['return (conf, ctx) => { ctx.trace = ["rewrite"] }'],
            access: ['return (conf, ctx) => { ctx.trace.push("access") }'],
            before_proxy: ['return (conf, ctx) => { ctx.trace.push("before_proxy") }'],
            header_filter: ['return (conf, ctx) => { ctx.trace.push("header_filter"); ctx.response.setHeader("x-trace", ctx.trace.join(",")) }'],
            body_filter: ['return (conf, ctx) => { if (ctx.response.eof) ctx.response.chunk = String(ctx.response.chunk) + "+" + ctx.response.status }'],
            log: ['return (conf, ctx) => { log.error("multi-phase log", ctx.trace.join(",")) }'],
          },
        },
      },
    });
    const res = await get(gw, '/multi');
    assert.equal(res.headers['x-trace'], 'rewrite,access,before_proxy,header_filter');
    assert.match(res.body, /\+200$/);
    await logged(gw, (l) => l.msg === 'multi-phase log rewrite,access,before_proxy,header_filter', 'the log phase of the same instance');
  });

  test('a throw answers 500 and logs route, plugin, phase and function; in log it changes nothing', async () => {
    await putRoute(gw, 'throws', {
      uri: '/throws',
      upstream: upstream(),
      plugins: {
        [PRE]: { functions: ['return () => {}', 'return function (conf, ctx) {\n  if (ctx.var.arg_boom) throw new Error("boom in access");\n}'] },
      },
    });
    const res = await get(gw, '/throws?boom=1');
    assert.equal(res.status, 500);
    assert.match(res.body, /500 Internal Server Error/);
    const line = await logged(gw, (l) => typeof l.err === 'string' && l.err.includes('boom in access'), 'the 500 log line');
    assert.deepEqual([line.route, line.plugin, line.phase, line.err], ['throws', PRE, 'access', `plugin ${PRE} failed in access: functions[1] threw: boom in access`]);
    assert.match(String(line.stack), /serverless-pre-function\/functions\[1\]:2/);

    await putRoute(gw, 'throws-late', { uri: '/throws-late', upstream: upstream(), plugins: { [POST]: { phase: 'log', functions: ['return () => { throw new Error("boom in log") }'] } } });
    assert.equal((await get(gw, '/throws-late')).status, 200);
    const late = await logged(gw, (l) => l.err === 'functions[0] threw: boom in log', 'the log-phase failure');
    assert.deepEqual([late.route, late.plugin, late.phase], ['throws-late', POST, 'log']);
  });

  test('error statuses returned by a function get the error pages (t/error_page)', async () => {
    await putRoute(gw, 'pages', { uri: '/pages', upstream: upstream(), plugins: { [POST]: { functions: ['return (conf, ctx) => ctx.var.arg_code && Number(ctx.var.arg_code)'] } } });
    assert.match((await get(gw, '/pages?code=502')).body, /502 Bad Gateway/);
    assert.match((await get(gw, '/pages?code=503')).body, /503 Service Temporarily Unavailable/);
  });

  test('validation through the Admin API: APISIX messages', async () => {
    const put = (conf: Record<string, unknown>) => adminRequest(gw, 'PUT', '/apisix/admin/routes/invalid', { uri: '/invalid', upstream: upstream(), plugins: { [PRE]: conf } });
    const prefix = `failed to check the configuration of plugin ${PRE} err: `;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ phase: 'abc', functions: ['return () => {}'] }, 'property "phase" validation failed: matches none of the enum values'],
      [{ functions: [] }, 'property "functions" validation failed: expect array to have at least 1 items'],
      [{}, 'property "functions" is required'],
      [{ functions: ['local a = 123;'] }, 'failed to loadstring: Unexpected identifier \'a\''],
      [{ functions: ['throw new Error("top")'] }, 'pcall error: top'],
      [{ functions: ['let a = 123;'] }, 'only accept JavaScript function, the input code type is undefined'],
      [{ functions: ['for (;;) {}'] }, 'pcall error: Script execution timed out after 1000ms'],
    ];
    for (const [conf, message] of cases) {
      const res = await put(conf);
      assert.equal(res.status, 400, JSON.stringify(conf));
      assert.deepEqual(res.json, { error_msg: prefix + message });
    }
  });

  test('_meta.pre_function of any plugin goes through the same sandbox', async () => {
    await putRoute(gw, 'meta-pre', {
      uri: '/meta-pre',
      upstream: upstream(),
      plugins: { 'proxy-rewrite': { uri: '/rewritten', _meta: { pre_function: 'return (conf, ctx) => { log.warn("pre_function before", conf.uri, "on", ctx.route_id, typeof process) }' } } },
    });
    assert.equal(JSON.parse((await get(gw, '/meta-pre')).body).url, '/rewritten');
    const line = await logged(gw, (l) => l.msg === 'pre_function before /rewritten on meta-pre undefined', 'the pre_function log line');
    assert.equal(line.function, '_meta.pre_function');
    const refused = await adminRequest(gw, 'PUT', '/apisix/admin/routes/meta-bad', { uri: '/meta-bad', upstream: upstream(), plugins: { 'proxy-rewrite': { uri: '/x', _meta: { pre_function: 'return 1' } } } });
    assert.deepEqual(refused.json, { error_msg: 'failed to check the configuration of plugin proxy-rewrite err: only accept JavaScript function, the input code type is number' });
  });

  test('allowed_modules: exactly the listed modules can be required', async () => {
    await putRoute(gw, 'crypto', {
      uri: '/crypto',
      upstream: upstream(),
      plugins: { [PRE]: { functions: ['const { createHash } = require("node:crypto"); return (conf, ctx) => [200, createHash("sha256").update(ctx.var.arg_v).digest("hex")]'] } },
    });
    assert.equal((await get(gw, '/crypto?v=abc')).body, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const refused = await adminRequest(gw, 'PUT', '/apisix/admin/routes/fs', { uri: '/fs', upstream: upstream(), plugins: { [PRE]: { functions: ['const fs = require("node:fs"); return () => {}'] } } });
    assert.equal(refused.status, 400);
    assert.match(String((refused.json as { error_msg: string }).error_msg), /pcall error: require\("node:fs"\) is not allowed/);
  });
});

describe('serverless functions: the watchdog report', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;

  before(async () => {
    up = await startUpstream('up');
    gw = await startGatewayProcess({ config: { nginx_config: { worker_processes: 2 }, fngate: { worker_watchdog_timeout: '1s' } } });
    await waitFor(() => logLines(gw).filter((l) => l.msg === 'worker ready').length === 2, { what: 'two workers ready' });
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
  });

  test('a function that never returns: the request fails, the log names route, plugin and function, the node serves on', async () => {
    await putRoute(gw, 'ok', { uri: '/ok', upstream: { nodes: { [up.node]: 1 } } });
    await putRoute(gw, 'spin', {
      uri: '/spin',
      upstream: { nodes: { [up.node]: 1 } },
      plugins: { [PRE]: { phase: 'rewrite', functions: ['return () => {}', 'return function (conf, ctx) { if (ctx.var.arg_spin) for (;;) {} }'] } },
    });
    // Both workers must know the route before the request that stalls one of them.
    await waitFor(() => servedByAll('/spin'), { what: 'the route on both workers' });

    await assert.rejects(request(`${gw.proxyUrl}/spin?spin=1`, { reset: true }).then((res) => res.body.text()), 'the connection is closed without an answer');
    const report = await logged(gw, (l) => l.msg === 'event loop stalled in a user function', 'the watchdog report');
    assert.deepEqual([report.route, report.plugin, report.function, report.module], ['spin', PRE, 'functions[1]', 'serverless-watchdog']);
    assert.equal(report.level, 50);
    await logged(gw, (l) => l.msg === 'worker replaced', 'the primary replacing the worker');
    await waitFor(() => logLines(gw).filter((l) => l.msg === 'worker ready').length === 3, { what: 'a new worker', timeoutMs: 10_000 });
    await waitFor(() => servedByAll('/ok'), { what: 'other routes served by every worker', timeoutMs: 10_000 });
  });

  /** Requests on fresh connections (so both workers get some) all answered 200. */
  async function servedByAll(path: string): Promise<boolean> {
    for (let i = 0; i < 8; i++) {
      const res = await request(`${gw.proxyUrl}${path}`, { reset: true });
      await res.body.dump();
      if (res.statusCode !== 200) return false;
    }
    return true;
  }
});

describe('serverless functions: the isolated sandbox', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  let jsonUp: TestUpstream;
  // Generous: the limit is wall-clock time, and test machines are busy.
  const TIMEOUT_MS = 1_000;

  before(async () => {
    up = await startUpstream('up');
    jsonUp = await startUpstream('json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'json', secret: 's3cr3t' }));
    });
    gw = await startGatewayProcess({ config: { fngate: { serverless: { sandbox: 'isolated', timeout_ms: TIMEOUT_MS, memory_mb: 8 } } } });
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
    await jsonUp.close();
  });

  const workersReady = () => logLines(gw).filter((l) => l.msg === 'worker ready').length;

  test('functions work: closures, ctx.var, headers, stored ctx properties across plugins and phases, log', async () => {
    await putRoute(gw, 'iso', {
      uri: '/iso',
      upstream: { nodes: { [up.node]: 1 } },
      plugins: {
        [PRE]: { functions: ['let n = 1; return (conf, ctx) => { n++; ctx.seen = { n, uri: ctx.var.uri, route: ctx.route_id, phase: conf.phase }; ctx.request.setHeader("x-n", String(n)); ctx.response.setHeader("x-iso", "yes"); log.error("isolated", n) }'] },
        [POST]: { phase: 'header_filter', functions: ['return (conf, ctx) => { ctx.response.setHeader("x-seen", JSON.stringify(ctx.seen)); ctx.response.status = 203 }'] },
      },
    });
    const res = await get(gw, '/iso');
    assert.equal(res.status, 203);
    assert.equal(res.headers['x-iso'], 'yes');
    const seen = JSON.parse(String(res.headers['x-seen'])) as { n: number; uri: string; route: string; phase: string };
    assert.deepEqual([seen.uri, seen.route, seen.phase], ['/iso', 'iso', 'access']);
    assert.equal(JSON.parse(res.body).headers['x-n'], String(seen.n));
    const again = await get(gw, '/iso');
    assert.equal(JSON.parse(String(again.headers['x-seen'])).n, seen.n + 1, 'closure state persists in the isolate');
    await logged(gw, (l) => l.msg === `isolated ${seen.n}` && l.route === 'iso' && l.plugin === PRE, 'the log line from inside the isolate');
  });

  test('async functions: awaiting the request body, verdicts with JSON bodies', async () => {
    await putRoute(gw, 'iso-async', {
      uri: '/iso-async',
      upstream: { nodes: { [up.node]: 1 } },
      plugins: { [PRE]: { functions: ['return async (conf, ctx) => { if (ctx.request.method !== "POST") return; const body = await ctx.request.body(); return [201, { got: body, header: ctx.request.header("x-h") }] }'] } },
    });
    const res = await get(gw, '/iso-async', { method: 'POST', body: 'payload', headers: { 'x-h': 'v' } });
    assert.equal(res.status, 201);
    assert.equal(res.body, '{"got":"payload","header":"v"}\n');
  });

  test('header_filter and body_filter edit a JSON body', async () => {
    await putRoute(gw, 'iso-json', {
      uri: '/iso-json',
      upstream: { nodes: { [jsonUp.node]: 1 } },
      plugins: {
        [POST]: {
          phases: {
            header_filter: ['return (conf, ctx) => { ctx.response.setHeader("content-length", null) }'],
            body_filter: ['return (conf, ctx) => { const body = ctx.response.holdBody(); if (body === undefined) return; const json = JSON.parse(body); delete json.secret; ctx.response.chunk = JSON.stringify(json) }'],
          },
        },
      },
    });
    assert.deepEqual(JSON.parse((await get(gw, '/iso-json')).body), { name: 'json' });
  });

  test('CPU limit: an endless loop answers 500 within timeout_ms; the worker lives on', async () => {
    await putRoute(gw, 'iso-loop', { uri: '/iso-loop', upstream: { nodes: { [up.node]: 1 } }, plugins: { [PRE]: { functions: ['return (conf, ctx) => { if (ctx.var.arg_spin) for (;;) {} }'] } } });
    const workers = workersReady();
    const started = Date.now();
    const res = await get(gw, '/iso-loop?spin=1');
    assert.equal(res.status, 500);
    assert.ok(Date.now() - started < TIMEOUT_MS + 1_500, `answered in ${Date.now() - started} ms`);
    await logged(gw, (l) => l.route === 'iso-loop' && String(l.err).includes(`functions[0] threw: Script execution timed out. (fngate.serverless.timeout_ms: ${TIMEOUT_MS})`), 'the timeout in the log');
    assert.equal((await get(gw, '/iso-loop')).status, 200, 'the same function serves the next request');
    assert.equal(workersReady(), workers, 'no worker was replaced');
  });

  test('memory cap: an allocation bomb answers 500; the isolate is rebuilt, the worker lives on', async () => {
    await putRoute(gw, 'iso-bomb', {
      uri: '/iso-bomb',
      upstream: { nodes: { [up.node]: 1 } },
      plugins: { [PRE]: { functions: ['const keep = []; return (conf, ctx) => { if (ctx.var.arg_bomb) for (;;) keep.push(new Array(1e6).fill(0)) }'] } },
    });
    await putRoute(gw, 'iso-other', { uri: '/iso-other', upstream: { nodes: { [up.node]: 1 } }, plugins: { [PRE]: { functions: ['let n = 0; return () => [200, String(++n)]'] } } });
    const other = Number((await get(gw, '/iso-other')).body);
    const workers = workersReady();
    assert.equal((await get(gw, '/iso-bomb?bomb=1')).status, 500);
    await logged(gw, (l) => l.route === 'iso-bomb' && String(l.err).includes('memory limit (fngate.serverless.memory_mb: 8)'), 'the memory cap in the log');
    assert.equal((await get(gw, '/iso-bomb')).status, 200);
    await logged(gw, (l) => l.route === 'iso-bomb' && String(l.msg).startsWith('isolate was disposed (memory cap)'), 'the rebuild');
    assert.equal(workersReady(), workers, 'no worker was replaced');
    assert.equal((await get(gw, '/iso-other')).body, String(other + 1), 'other functions and their state are untouched');
  });

  test('validation offers the isolate\'s globals only: no Buffer, no require', async () => {
    const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/iso-bad', { uri: '/iso-bad', upstream: { nodes: { [up.node]: 1 } }, plugins: { [PRE]: { functions: ['const b = Buffer.from("x"); return () => {}'] } } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { error_msg: `failed to check the configuration of plugin ${PRE} err: pcall error: Buffer is not defined` });
  });

  test('allowed_modules cannot be combined with it: the node refuses to start', async () => {
    await assert.rejects(
      startGatewayProcess({ config: { fngate: { serverless: { sandbox: 'isolated', allowed_modules: ['node:crypto'] } } } }),
      (err: Error) => err.message.includes('SERVERLESS_CONFIG_INVALID') && err.message.includes('fngate.serverless.allowed_modules cannot be used with sandbox'),
    );
  });
});
