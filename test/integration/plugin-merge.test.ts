/**
 * Merge precedence (spec/plugins.md §4): Service < Plugin Config < Route <
 * Consumer Group < Consumer, the consumer's own plugins re-running rewrite,
 * and hot reload of plugin code and of the installed list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/plugins');

async function get(gw: GatewayProcess, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.proxyUrl}${path}`, { headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('merge precedence', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;

  before(async () => {
    up = await startUpstream('up');
    gw = await startGatewayProcess({ config: { fngate: { custom_plugin_dirs: [FIXTURES] } } });
    const put = async (path: string, body: unknown) => {
      const res = await adminRequest(gw, 'PUT', path, body);
      assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.text}`);
    };
    await put('/apisix/admin/services/s1', { upstream: { nodes: { [up.node]: 1 } }, plugins: { tag: { value: 'service' } } });
    await put('/apisix/admin/plugin_configs/pc1', { plugins: { tag: { value: 'plugin_config' } } });
    await put('/apisix/admin/consumer_groups/gold', { plugins: { tag: { value: 'group' } } });
    await put('/apisix/admin/consumers/alice', { username: 'alice', group_id: 'gold', plugins: { 'header-auth': { user: 'alice' }, tag: { value: 'consumer' } }, labels: { custom_id: 'a-1' } });
    await put('/apisix/admin/consumers/bob', { username: 'bob', group_id: 'gold', plugins: { 'header-auth': { user: 'bob' } } });
    await put('/apisix/admin/consumers/carol', { username: 'carol', plugins: { 'header-auth': { user: 'carol' }, tag: { value: 'carol' } } });
    await put('/apisix/admin/consumers/dave', { username: 'dave', plugins: { 'header-auth': { user: 'dave' } } });
    await put('/apisix/admin/routes/svc-only', { uri: '/m/svc-only', service_id: 's1' });
    await put('/apisix/admin/routes/pc', { uri: '/m/pc', service_id: 's1', plugin_config_id: 'pc1' });
    await put('/apisix/admin/routes/route', { uri: '/m/route', service_id: 's1', plugin_config_id: 'pc1', plugins: { tag: { value: 'route' } } });
    await put('/apisix/admin/routes/auth', { uri: '/m/auth', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'header-auth': {}, tag: { value: 'route' } } });
    await put('/apisix/admin/routes/auth-bare', { uri: '/m/auth-bare', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'header-auth': {} } });
    await waitFor(async () => (await get(gw, '/m/auth-bare', { 'x-user': 'dave' })).status === 200, { what: 'config served' });
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
  });

  test('service < plugin config < route', async () => {
    assert.equal((await get(gw, '/m/svc-only')).headers['x-tag'], 'service');
    assert.equal((await get(gw, '/m/pc')).headers['x-tag'], 'plugin_config');
    assert.equal((await get(gw, '/m/route')).headers['x-tag'], 'route');
  });

  test('route < consumer group < consumer', async () => {
    assert.equal((await get(gw, '/m/auth', { 'x-user': 'dave' })).headers['x-tag'], 'route', 'no group, no consumer tag');
    assert.equal((await get(gw, '/m/auth', { 'x-user': 'bob' })).headers['x-tag'], 'group');
    assert.equal((await get(gw, '/m/auth', { 'x-user': 'alice' })).headers['x-tag'], 'consumer');
    const denied = await get(gw, '/m/auth', { 'x-user': 'mallory' });
    assert.equal(denied.status, 401);
    assert.equal(denied.body, '{"message":"Invalid user"}\n');
  });

  test('only plugins the consumer brings in re-run rewrite', async () => {
    // tag is on the route: its rewrite ran once, before the consumer was known.
    assert.equal((await get(gw, '/m/auth', { 'x-user': 'alice' })).headers['x-tag-rewrite'], '1');
    // tag comes only from the consumer: its rewrite runs in the consumer re-run.
    const carol = await get(gw, '/m/auth-bare', { 'x-user': 'carol' });
    assert.equal(carol.headers['x-tag'], 'carol');
    assert.equal(carol.headers['x-tag-rewrite'], '1');
    assert.equal((await get(gw, '/m/auth-bare', { 'x-user': 'dave' })).headers['x-tag'], undefined);
  });

  test('the upstream learns who the consumer is', async () => {
    const res = await get(gw, '/m/auth-bare', { 'x-user': 'alice' });
    const echo = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(echo.headers['x-consumer-username'], 'alice');
    assert.equal(echo.headers['x-consumer-custom-id'], 'a-1');
  });

  test('a consumer whose group is gone gets 503', async () => {
    await adminRequest(gw, 'PUT', '/apisix/admin/consumer_groups/temp', { plugins: {} });
    await adminRequest(gw, 'PUT', '/apisix/admin/consumers/erin', { username: 'erin', group_id: 'temp', plugins: { 'header-auth': { user: 'erin' } } });
    await waitFor(async () => (await get(gw, '/m/auth-bare', { 'x-user': 'erin' })).status === 200, { what: 'erin served' });
    assert.equal((await adminRequest(gw, 'DELETE', '/apisix/admin/consumer_groups/temp?force=true')).status, 200);
    await waitFor(async () => (await get(gw, '/m/auth-bare', { 'x-user': 'erin' })).status === 503, { what: '503 for the missing group' });
  });
});

describe('hot reload', () => {
  test('edited plugin code and a changed installed list apply without restart or failed requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fngate-reload-'));
    const pluginDir = join(dir, 'plugins');
    cpSync(FIXTURES, pluginDir, { recursive: true });
    const versioned = (v: number) => `export default {
  name: 'versioned', priority: 5, schema: { type: 'object' },
  header_filter(conf, ctx) { ctx.response.setHeader('x-version', '${v}'); },
};\n`;
    writeFileSync(join(pluginDir, 'versioned.js'), versioned(1));
    const slow = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('slow done'), 600));
    const gw = await startGatewayProcess({
      config: { fngate: { custom_plugin_dirs: [pluginDir] }, nginx_config: { worker_processes: 2 } },
    });
    try {
      await adminRequest(gw, 'PUT', '/apisix/admin/routes/v', { uri: '/v', upstream: { nodes: { [slow.node]: 1 } }, plugins: { versioned: {}, tag: { value: 'kept' } } });
      await waitFor(async () => (await get(gw, '/v')).headers['x-version'] === '1', { what: 'v1 served', timeoutMs: 8_000 });

      writeFileSync(join(pluginDir, 'versioned.js'), versioned(2));
      const inFlight = [0, 1, 2].map(() => get(gw, '/v'));
      await new Promise((r) => setTimeout(r, 100));
      const reload = await adminRequest(gw, 'PUT', '/apisix/admin/plugins/reload');
      assert.equal(reload.status, 200);
      assert.equal(reload.text, 'done');
      for (const res of await Promise.all(inFlight)) assert.equal(res.status, 200, 'in-flight requests finish');
      for (let i = 0; i < 4; i++) assert.equal((await get(gw, '/v')).headers['x-version'], '2', 'every worker runs the new code');

      // Remove `tag` from the installed list: stored config naming it is skipped, new writes are refused.
      const config = parse(readFileSync(gw.configPath, 'utf8')) as Record<string, unknown>;
      config.plugins = ['versioned', 'trace-a'];
      writeFileSync(gw.configPath, stringify(config));
      assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/plugins/reload')).status, 200);
      const after = await get(gw, '/v');
      assert.equal(after.status, 200);
      assert.equal(after.headers['x-tag'], undefined, 'the uninstalled plugin no longer runs');
      assert.equal(after.headers['x-version'], '2');
      const refused = await adminRequest(gw, 'PUT', '/apisix/admin/routes/w', { uri: '/w', plugins: { tag: { value: 'x' } } });
      assert.equal((refused.json as { error_msg: string }).error_msg, 'unknown plugin [tag]');
      assert.deepEqual(((await adminRequest(gw, 'GET', '/apisix/admin/plugins/list')).json as string[]).sort(), ['trace-a', 'versioned']);
    } finally {
      await gw.stop();
      gw.cleanup();
      await slow.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
