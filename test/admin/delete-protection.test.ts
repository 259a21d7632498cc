/** Referenced objects cannot be deleted unless forced (spec/admin-api.md §3.1). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { routeBody, startAdmin, testPlugins, type AdminUnderTest } from './helpers.js';

describe('delete protection', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin({ deps: { plugins: testPlugins } });
  });
  after(() => admin.close());

  const upstream = routeBody().upstream;

  async function put(path: string, body: unknown): Promise<void> {
    const res = await admin.call('PUT', path, { body });
    assert.ok(res.status === 201 || res.status === 200, `${path}: ${res.text}`);
  }

  async function refused(path: string, message: string): Promise<void> {
    const res = await admin.call('DELETE', path);
    assert.deepEqual([res.status, res.json], [400, { error_msg: message }], path);
  }

  test('a service used by a route', async () => {
    await put('/apisix/admin/services/1', { upstream });
    await put('/apisix/admin/routes/1', { uri: '/s', service_id: 1 });
    await refused('/apisix/admin/services/1', 'can not delete this service directly, route [1] is still using it now');
    await refused('/apisix/admin/services/1?force=anyvalue', 'can not delete this service directly, route [1] is still using it now');
    const forced = await admin.call('DELETE', '/apisix/admin/services/1?force=true');
    assert.deepEqual([forced.status, forced.json], [200, { deleted: '1', key: '/apisix/services/1' }]);
    await admin.call('DELETE', '/apisix/admin/routes/1');
  });

  test('an upstream used by a route, a service, or a traffic-split plugin', async () => {
    await put('/apisix/admin/upstreams/u1', upstream);
    await put('/apisix/admin/routes/r1', { uri: '/u', upstream_id: 'u1' });
    await refused('/apisix/admin/upstreams/u1', 'can not delete this upstream, route [r1] is still using it now');
    await admin.call('DELETE', '/apisix/admin/routes/r1');

    await put('/apisix/admin/services/s1', { upstream_id: 'u1' });
    await refused('/apisix/admin/upstreams/u1', 'can not delete this upstream, service [s1] is still using it now');
    await admin.call('DELETE', '/apisix/admin/services/s1');

    // Written directly: the test catalog does not validate traffic-split's configuration.
    await admin.store.put('/apisix/routes/r2', JSON.stringify({
      id: 'r2', uri: '/ts', upstream,
      plugins: { 'traffic-split': { rules: [{ weighted_upstreams: [{ upstream_id: 'u1', weight: 1 }, { weight: 1 }] }] } },
    }));
    await refused('/apisix/admin/upstreams/u1', 'can not delete this upstream, plugin in route [r2] is still using it now');
    await admin.call('DELETE', '/apisix/admin/routes/r2');

    const res = await admin.call('DELETE', '/apisix/admin/upstreams/u1');
    assert.equal(res.status, 200);
  });

  test('a plugin config used by a route', async () => {
    await put('/apisix/admin/plugin_configs/pc', { plugins: { 'limit-count': {} } });
    await put('/apisix/admin/routes/r3', { ...routeBody(), plugin_config_id: 'pc' });
    await refused('/apisix/admin/plugin_configs/pc', 'can not delete this plugin config, route [r3] is still using it now');
  });

  test('a consumer group used by a consumer', async () => {
    await put('/apisix/admin/consumer_groups/g', { plugins: { 'limit-count': {} } });
    await put('/apisix/admin/consumers', { username: 'jack', group_id: 'g' });
    await refused('/apisix/admin/consumer_groups/g', 'can not delete this consumer group, consumer [jack] is still using it now');
  });
});
