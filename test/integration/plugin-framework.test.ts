/**
 * The plugin framework observed through responses (spec/plugins.md §2–§5):
 * execution order across global rules and routes, short-circuits, response
 * phases after a verdict, _meta, async phases, request and response
 * rewriting, before_proxy per attempt. The plugins are the fixtures in
 * test/fixtures/plugins, loaded as custom plugins.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

const PLUGINS_DIR = resolve(import.meta.dirname, '../fixtures/plugins');

describe('plugin framework', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  let collector: Server;
  let collectorUrl: string;
  const logs: Array<{ name: string; trace: string[]; status?: string }> = [];
  let routeSeq = 0;

  before(async () => {
    up = await startUpstream('up');
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        logs.push(JSON.parse(body) as { name: string; trace: string[] });
        res.end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}/log`;
    gw = await startGatewayProcess({ config: { fngate: { custom_plugin_dirs: [PLUGINS_DIR] } } });
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
    collector.close();
  });

  /** Create a route on a fresh path and wait until it is served; returns the path. */
  async function route(body: Record<string, unknown>): Promise<string> {
    const id = `r${++routeSeq}`;
    const uri = `/t/${id}`;
    const put = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, { uri, upstream: { nodes: { [up.node]: 1 } }, ...body });
    assert.equal(put.status, 201, put.text);
    await waitFor(async () => {
      const res = await request(`${gw.proxyUrl}${uri}`);
      await res.body.dump();
      return res.statusCode !== 404 || res.headers['x-trace'] !== undefined;
    }, { what: `route ${uri}` });
    return uri;
  }

  async function get(path: string, headers: Record<string, string> = {}) {
    const res = await request(`${gw.proxyUrl}${path}`, { headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  test('phases run in APISIX order: priority within a phase, every phase in turn', async () => {
    const uri = await route({ plugins: { 'trace-a': {}, 'trace-b': {}, 'trace-c': {} } });
    const res = await get(uri);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-trace'], [
      'trace-c:rewrite', 'trace-a:rewrite', 'trace-b:rewrite',
      'trace-c:access', 'trace-a:access', 'trace-b:access',
      'trace-c:before_proxy', 'trace-a:before_proxy', 'trace-b:before_proxy',
      'trace-c:header_filter', 'trace-a:header_filter', 'trace-b:header_filter',
    ].join(','));
    assert.equal(JSON.parse(res.body).name, 'up', 'the request reached the upstream');
  });

  test('global rules run first in every phase; the response phases still run after a verdict', async () => {
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/global_rules/g1', { plugins: { 'trace-b': { collect: collectorUrl } } })).status, 201);
    try {
      const uri = await route({ plugins: { 'trace-a': { stop_in: 'access', status: 418, body: { stopped: true }, collect: collectorUrl } } });
      const before = up.received.length;
      const res = await get(uri);
      assert.equal(res.status, 418);
      assert.equal(res.body, '{"stopped":true}\n');
      assert.equal(up.received.length, before, 'the upstream was not called');
      assert.equal(res.headers['x-trace'], 'trace-b:rewrite,trace-a:rewrite,trace-b:access,trace-a:access,trace-b:header_filter,trace-a:header_filter');
      await waitFor(() => logs.some((l) => l.name === 'trace-a' && l.trace.includes('trace-a:access')), { what: 'log phase of the route plugin' });
      const routeLog = logs.find((l) => l.name === 'trace-a' && l.trace.includes('trace-a:access'));
      assert.ok(routeLog?.trace.includes('trace-a:body_filter'), 'body_filter ran on the generated response');

      // An unmatched request: global rewrite and access run, then APISIX's 404.
      const miss = await get('/no-such-route');
      assert.equal(miss.status, 404);
      assert.equal(miss.body, '{"error_msg":"404 Route Not Found"}\n');
      assert.equal(miss.headers['x-trace'], 'trace-b:rewrite,trace-b:access,trace-b:header_filter');
    } finally {
      await adminRequest(gw, 'DELETE', '/apisix/admin/global_rules/g1');
    }
  });

  test('a verdict in a global rewrite leaves the route plugins out of the response phases', async () => {
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/global_rules/g2', { plugins: { 'trace-c': { stop_in: 'rewrite', status: 401 } } })).status, 201);
    try {
      const uri = await route({ plugins: { 'trace-a': {} } });
      await waitFor(async () => (await get(uri)).status === 401, { what: 'global rule active' });
      const res = await get(uri);
      assert.equal(res.headers['x-trace'], 'trace-c:rewrite,trace-c:header_filter');
      assert.match(res.body, /401 Unauthorized/, "nginx's page for a bare status");
    } finally {
      await adminRequest(gw, 'DELETE', '/apisix/admin/global_rules/g2');
    }
  });

  test('_meta: disable, error_response (string and object), priority', async () => {
    // A disabled instance is accepted even when its configuration is invalid, and never runs.
    const disabled = await route({ plugins: { 'trace-a': {}, tag: { _meta: { disable: true } } } });
    assert.equal((await get(disabled)).headers['x-tag'], undefined);

    const text = await route({ plugins: { 'trace-a': { stop_in: 'access', status: 401, body: 'orig', _meta: { error_response: 'custom text' } } } });
    const r1 = await get(text);
    assert.equal(r1.status, 401);
    assert.equal(r1.body, 'custom text');
    const json = await route({ plugins: { 'trace-a': { stop_in: 'rewrite', status: 403, _meta: { error_response: { message: 'Missing credential in request' } } } } });
    const r2 = await get(json);
    assert.equal(r2.status, 403);
    assert.equal(r2.body, '{"message":"Missing credential in request"}\n');
    // Below 400 the body is left alone.
    const ok = await route({ plugins: { 'trace-a': { stop_in: 'access', status: 200, body: 'fine', _meta: { error_response: 'nope' } } } });
    assert.equal((await get(ok)).body, 'fine');

    // _meta.priority re-sorts the route's list: trace-b (50) now runs before trace-c (200).
    const reordered = await route({ plugins: { 'trace-b': { _meta: { priority: 300 } }, 'trace-c': {} } });
    assert.match(String((await get(reordered)).headers['x-trace']), /^trace-b:rewrite,trace-c:rewrite,/);
  });

  test('_meta.filter decides per request whether a plugin runs', async () => {
    const cases: Array<{ filter: unknown[]; yes: string; no: string }> = [
      { filter: [['arg_v', '==', 'x']], yes: '?v=x', no: '?v=y' },
      { filter: [['arg_v', '~=', 'x']], yes: '?v=y', no: '?v=x' },
      { filter: [['arg_v', '>', 5]], yes: '?v=6', no: '?v=5' },
      { filter: [['arg_v', '>=', 5]], yes: '?v=5', no: '?v=4' },
      { filter: [['arg_v', '<', 5]], yes: '?v=4', no: '?v=5' },
      { filter: [['arg_v', '<=', 5]], yes: '?v=5', no: '?v=6' },
      { filter: [['arg_v', '~~', '^a.c$']], yes: '?v=abc', no: '?v=ABC' },
      { filter: [['arg_v', '~*', '^a.c$']], yes: '?v=ABC', no: '?v=abd' },
      { filter: [['arg_v', 'in', ['a', 'b']]], yes: '?v=b', no: '?v=c' },
      { filter: [['arg_v', '!', '==', 'x']], yes: '?v=y', no: '?v=x' },
      { filter: [['remote_addr', 'ipmatch', ['127.0.0.0/8']]], yes: '', no: '__no_request__' },
      { filter: ['OR', ['arg_v', '==', 'a'], ['arg_w', '==', 'b']], yes: '?w=b', no: '?v=b' },
      { filter: ['AND', ['arg_v', '==', 'a'], ['arg_w', '==', 'b']], yes: '?v=a&w=b', no: '?v=a' },
    ];
    for (const c of cases) {
      const uri = await route({ plugins: { tag: { value: 'ran', _meta: { filter: c.filter } } } });
      assert.equal((await get(`${uri}${c.yes}`)).headers['x-tag'], 'ran', `${JSON.stringify(c.filter)} should match ${c.yes}`);
      if (c.no !== '__no_request__') {
        assert.equal((await get(`${uri}${c.no}`)).headers['x-tag'], undefined, `${JSON.stringify(c.filter)} should not match ${c.no}`);
      }
    }
    const bad = await adminRequest(gw, 'PUT', '/apisix/admin/routes/bad-filter', {
      uri: '/bad-filter', upstream: { nodes: { [up.node]: 1 } }, plugins: { tag: { value: 'x', _meta: { filter: [['arg_v', '=', 'x']] } } },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error_msg: string }).error_msg,
      "failed to check the configuration of plugin tag err: failed to validate the 'vars' expression: invalid operator '='");
  });

  test('async phase functions are awaited, in order', async () => {
    const uri = await route({ plugins: { 'trace-a': { async: true }, 'trace-b': { async: true, stop_in: 'access', status: 202, body: 'async stop' } } });
    const res = await get(uri);
    assert.equal(res.status, 202);
    assert.equal(res.body, 'async stop');
    assert.equal(res.headers['x-trace'], 'trace-a:rewrite,trace-b:rewrite,trace-a:access,trace-b:access,trace-a:header_filter,trace-b:header_filter');
  });

  test('a throw in a request phase is a 500; a throw in a response phase is logged and changes nothing', async () => {
    const failing = await route({ plugins: { 'trace-a': { throw_in: 'access' } } });
    const res = await get(failing);
    assert.equal(res.status, 500);
    await waitFor(() => /trace-a failed on purpose in access/.test(gw.output()), { what: 'the failure logged with its cause' });
    assert.match(gw.output(), /"plugin":"trace-a"/);

    const quiet = await route({ plugins: { 'trace-a': { throw_in: 'header_filter' }, tag: { value: 'still' } } });
    const ok = await get(quiet);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-tag'], 'still', 'the next plugin still ran');
  });

  test('plugins rewrite the upstream request and the response', async () => {
    const uri = await route({ plugins: { 'body-tools': { upstream_uri: '/rewritten?q=1', set_header: { name: 'x-added', value: 'yes' }, upper: true, status: 299 } } });
    const res = await get(uri);
    assert.equal(res.status, 299, 'header_filter changed the status');
    assert.equal(res.headers['x-upstream-content-type'], 'application/json');
    const echoed = JSON.parse(res.body.toLowerCase()) as { url: string; headers: Record<string, string> };
    assert.equal(res.body, res.body.toUpperCase(), 'body_filter upper-cased the body');
    assert.equal(echoed.url, '/rewritten?q=1');
    assert.equal(echoed.headers['x-added'], 'yes');
    assert.equal(res.headers['content-length'], undefined, 'a filtered body is re-framed');

    const wrapped = await route({ plugins: { 'body-tools': { wrap: true } } });
    const w = await get(wrapped);
    const outer = JSON.parse(w.body) as { wrapped: string; bytes: number };
    assert.equal(JSON.parse(outer.wrapped).name, 'up');
    assert.equal(outer.bytes, Buffer.byteLength(outer.wrapped));
  });

  test('a plugin reads the request body and it still reaches the upstream; setBody replaces it', async () => {
    const uri = await route({ plugins: { 'body-tools': { echo_body_to_header: true } } });
    const res = await request(`${gw.proxyUrl}${uri}`, { method: 'POST', body: 'hello body' });
    assert.equal(res.headers['x-request-body-length'], '10');
    assert.equal((JSON.parse(await res.body.text()) as { body: string }).body, 'hello body');

    const replaced = await route({ plugins: { 'body-tools': { set_body: 'replaced!' } } });
    const r2 = await request(`${gw.proxyUrl}${replaced}`, { method: 'POST', body: 'original body, longer' });
    assert.equal((JSON.parse(await r2.body.text()) as { body: string }).body, 'replaced!');
  });

  test('before_proxy runs again for every upstream attempt', async () => {
    const dead = await startUpstream('dead');
    const deadPort = dead.port;
    await dead.close();
    const uri = await route({
      plugins: { 'trace-a': {} },
      upstream: { nodes: [{ host: '127.0.0.1', port: deadPort, weight: 1000 }, { host: '127.0.0.1', port: up.port, weight: 1 }] },
    });
    const res = await get(uri);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-attempts'], '2');
  });

  test('the Admin API knows the installed plugins', async () => {
    const unknown = await adminRequest(gw, 'PUT', '/apisix/admin/routes/unknown', { uri: '/u', plugins: { 'no-such-plugin': {} } });
    assert.equal(unknown.status, 400);
    assert.equal((unknown.json as { error_msg: string }).error_msg, 'unknown plugin [no-such-plugin]');
    const list = await adminRequest(gw, 'GET', '/apisix/admin/plugins/list');
    const names = list.json as string[];
    assert.ok(names.indexOf('trace-c') < names.indexOf('trace-a') && names.indexOf('trace-a') < names.indexOf('trace-b'), 'sorted by priority');
    const schema = await adminRequest(gw, 'GET', '/apisix/admin/plugins/tag');
    const body = schema.json as { $comment: string; properties: Record<string, unknown> };
    assert.equal(body.$comment, 'this is a mark for our injected plugin schema');
    assert.ok(body.properties._meta);
    const invalid = await adminRequest(gw, 'PUT', '/apisix/admin/routes/invalid', { uri: '/i', plugins: { tag: {} } });
    assert.equal((invalid.json as { error_msg: string }).error_msg, 'failed to check the configuration of plugin tag err: property "value" is required');
  });
});
