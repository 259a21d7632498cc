/**
 * Plugin endpoints (§9), schema endpoints (§9.2, §10) and whole-document
 * validation (§11) of spec/admin-api.md.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify as stringifyYaml } from 'yaml';
import type { PluginEndpoints } from '../../src/admin/plugin-endpoints.js';
import { routeBody, startAdmin, testPlugins, type AdminUnderTest } from './helpers.js';

describe('plugin endpoints without plugins', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());

  test('the list is empty; a bad subsystem is a plain-text 400', async () => {
    const res = await admin.call('GET', '/apisix/admin/plugins/list');
    assert.deepEqual([res.status, res.text], [200, '[]']);
    const bad = await admin.call('GET', '/apisix/admin/plugins/list?subsystem=udp');
    assert.deepEqual([bad.status, bad.text, bad.headers['content-type']], [400, 'invalid subsystem passed', 'application/json']);
  });

  test('a plugin schema of an unknown plugin is 404, under both paths', async () => {
    for (const path of ['/apisix/admin/plugins/serverless-pre-function', '/apisix/admin/schema/plugins/serverless-pre-function']) {
      const res = await admin.call('GET', path);
      assert.deepEqual([res.status, res.json], [404, { error_msg: 'plugin not found in subsystem http' }], path);
    }
    const bad = await admin.call('GET', '/apisix/admin/plugins/x?subsystem=udp');
    assert.deepEqual([bad.status, bad.json], [400, { error_msg: 'unsupported subsystem: udp' }]);
  });

  test('reload answers done with PUT only', async () => {
    const res = await admin.call('PUT', '/apisix/admin/plugins/reload');
    assert.deepEqual([res.status, res.text], [200, 'done']);
    for (const method of ['GET', 'POST', 'DELETE', 'PATCH']) {
      const wrong = await admin.call(method, '/apisix/admin/plugins/reload');
      assert.deepEqual([wrong.status, wrong.json], [405, { error_msg: `please use PUT method to reload the plugins, ${method} method is not allowed.` }]);
    }
  });
});

describe('plugin endpoints with a registry', () => {
  let admin: AdminUnderTest;
  let reloads = 0;
  const schema = { $comment: 'this is a mark for our injected plugin schema', type: 'object', properties: { key: { type: 'string' } } };
  const endpoints: PluginEndpoints = {
    list: (subsystem) => (subsystem === 'http' ? ['key-auth', 'limit-count'] : []),
    schema: (name, _subsystem, type) => {
      if (name === 'key-auth') return { found: true, schema: type === 'consumer' ? { type: 'object', required: ['key'] } : schema };
      if (name === 'limit-count') return { found: true, schema: type === 'consumer' ? undefined : { type: 'object' } };
      return { found: false };
    },
    all: () => ({ 'key-auth': { priority: 2500 } }),
  };
  before(async () => {
    admin = await startAdmin({ deps: { pluginEndpoints: endpoints, onPluginsReload: async () => void reloads++ } });
  });
  after(() => admin.close());

  test('list, schema, consumer schema, all', async () => {
    assert.deepEqual((await admin.call('GET', '/apisix/admin/plugins/list')).json, ['key-auth', 'limit-count']);
    assert.deepEqual((await admin.call('GET', '/apisix/admin/plugins/list?subsystem=stream')).json, []);
    const one = await admin.call('GET', '/apisix/admin/plugins/key-auth');
    assert.deepEqual([one.status, one.json], [200, schema]);
    assert.deepEqual((await admin.call('GET', '/apisix/admin/schema/plugins/key-auth')).json, schema);
    assert.deepEqual((await admin.call('GET', '/apisix/admin/plugins/key-auth?schema_type=consumer')).json, { type: 'object', required: ['key'] });
    const noConsumer = await admin.call('GET', '/apisix/admin/plugins/limit-count?schema_type=consumer');
    assert.deepEqual([noConsumer.status, noConsumer.json], [400, { error_msg: 'not found schema' }]);
    assert.deepEqual((await admin.call('GET', '/apisix/admin/plugins?all=true')).json, { 'key-auth': { priority: 2500 } });
  });

  test('reload calls the registry', async () => {
    const before = reloads;
    assert.equal((await admin.call('PUT', '/apisix/admin/plugins/reload')).text, 'done');
    assert.equal(reloads, before + 1);
  });
});

describe('schema endpoints', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());

  test('core schemas by name', async () => {
    const route = await admin.call('GET', '/apisix/admin/schema/route');
    assert.equal(route.status, 200);
    assert.equal(route.json.type, 'object');
    assert.ok('uri' in route.json.properties);
    const unknown = await admin.call('GET', '/apisix/admin/schema/nope');
    assert.deepEqual([unknown.status, unknown.json], [400, { error_msg: 'not found schema: nope' }]);
  });

  test('schema-only validation', async () => {
    const ok = await admin.call('POST', '/apisix/admin/schema/validate/routes', { body: { uri: '/a', upstream_id: 'not-checked' } });
    assert.deepEqual([ok.status, ok.text], [200, '']);
    assert.equal(ok.headers['x-api-version'], undefined);
    const bad = await admin.call('POST', '/apisix/admin/schema/validate/routes', { body: { uri: 1, upstream_id: 1 } });
    assert.deepEqual([bad.status, bad.json], [400, { error_msg: 'property "uri" validation failed: wrong type: expected string, got number' }]);
    const unknown = await admin.call('POST', '/apisix/admin/schema/validate/foos', { body: {} });
    assert.deepEqual([unknown.status, unknown.json], [404, { error_msg: 'Unsupported resource type: foos' }]);
    const malformed = await admin.call('POST', '/apisix/admin/schema/validate/routes', { raw: '{' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.req_body, '{');
  });
});

describe('configs/validate', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin({ deps: { plugins: testPlugins } });
  });
  after(() => admin.close());

  const valid = {
    routes: [{ id: 'r1', uri: '/a', upstream_id: 'u1' }],
    upstreams: [{ id: 'u1', ...(routeBody().upstream as object) }],
    consumers: [{ username: 'jack' }, { id: 'jack/credentials/c1', plugins: { 'key-auth': { key: 'k' } } }],
    plugin_metadata: [{ id: 'http-logger', log_format: { host: '$host' } }],
  };

  test('a valid document (references are not checked)', async () => {
    const res = await admin.call('POST', '/apisix/admin/configs/validate', { body: valid });
    assert.deepEqual([res.status, res.json], [200, {}]);
    const yaml = await admin.call('POST', '/apisix/admin/configs/validate', { raw: stringifyYaml(valid), headers: { 'content-type': 'application/yaml' } });
    assert.deepEqual([yaml.status, yaml.json], [200, {}]);
  });

  test('every error is reported with its list, index and id', async () => {
    const res = await admin.call('POST', '/apisix/admin/configs/validate', {
      body: {
        routes: [{ id: 'r1', uri: '/a', upstream_id: 1 }, { id: 'r1', uri: '/b', upstream_id: 1 }, { id: 'r3', uri: 5, upstream_id: 1 }],
        consumers: [{ username: 'a' }, { username: 'a' }],
        routes_conf_version: 'x',
      },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, {
      error_msg: 'Configuration validation failed',
      errors: [
        { resource_type: 'routes', error: 'routes_conf_version must be a number, got string' },
        { resource_type: 'routes', resource_id: 'r1', index: 1, error: 'found duplicate id r1 in routes' },
        { resource_type: 'routes', resource_id: 'r3', index: 2, error: 'invalid routes at index 2, err: invalid configuration: property "uri" validation failed: wrong type: expected string, got number' },
        { resource_type: 'consumers', resource_id: 'a', index: 1, error: 'found duplicate username a in consumers' },
      ],
    });
  });

  test('body errors', async () => {
    const empty = await admin.call('POST', '/apisix/admin/configs/validate');
    assert.deepEqual([empty.status, empty.json], [400, { error_msg: 'invalid request body: empty request body' }]);
    const yaml = await admin.call('POST', '/apisix/admin/configs/validate', { raw: '- a\n- b\n', headers: { 'content-type': 'application/yaml' } });
    assert.deepEqual([yaml.status, yaml.json], [400, { error_msg: 'invalid request body: invalid yaml request body' }]);
    const json = await admin.call('POST', '/apisix/admin/configs/validate', { raw: '{"routes":' });
    assert.equal(json.status, 400);
    assert.match(json.json.error_msg, /^invalid request body: /);
  });
});
