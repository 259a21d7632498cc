import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { PluginCatalog } from '../plugin/catalog.js';
import { noPlugins } from '../plugin/catalog.js';
import { loadResource } from './load.js';
import { resourceKinds } from './registry.js';
import type { JsonObject } from './types.js';

const nodes = { '127.0.0.1:1980': 1 };

/** Installed plugins whose check fills one default, as plugin schemas do at load. */
function installed(names: string[], calls: Array<[string, boolean]> = []): PluginCatalog {
  return {
    has: (name) => names.includes(name),
    checkPlugins(plugins, target, fillDefaults) {
      calls.push([target, fillDefaults]);
      for (const [name, conf] of Object.entries(plugins)) {
        if (!names.includes(name)) return `unknown plugin [${name}]`;
        if (fillDefaults) (conf as JsonObject).phase ??= 'access';
      }
      return undefined;
    },
    isAuth: () => false,
    exists: (name) => names.includes(name),
    encryptFields: () => [],
    checkMetadata(_name, value, fillDefaults) {
      if (fillDefaults) value.log_format ??= { host: '$host' };
      return undefined;
    },
  };
}

function loaded(result: ReturnType<typeof loadResource>): JsonObject {
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.value;
}

describe('loadResource', () => {
  test('the id comes from the key, as a string', () => {
    const value = loaded(loadResource('routes', '1', JSON.stringify({ id: 1, uri: '/a', upstream_id: 2 }), { plugins: noPlugins }));
    assert.equal(value.id, '1');
    assert.equal(value.upstream_id, 2);
    const noId = loaded(loadResource('upstreams', 'u1', JSON.stringify({ nodes }), { plugins: noPlugins }));
    assert.equal(noId.id, 'u1');
  });
  test('consumers keep their username; credentials get <user>/credentials/<id>', () => {
    const consumer = loaded(loadResource('consumers', 'jack', JSON.stringify({ username: 'jack' }), { plugins: noPlugins }));
    assert.deepEqual([consumer.id, consumer.username], ['jack', 'jack']);
    const credential = loaded(loadResource('credentials', 'jack/credentials/c1', JSON.stringify({ id: 'c1', plugins: {} }), { plugins: noPlugins }));
    assert.equal(credential.id, 'jack/credentials/c1');
  });
  test('defaults are filled at load, never by write-time validation', async () => {
    const body = { uri: '/hello', upstream: { nodes } };
    assert.equal(await resourceKinds.get('routes')?.check(body, { plugins: noPlugins, fillDefaults: false }), undefined);
    assert.deepEqual(body, { uri: '/hello', upstream: { nodes } });

    const value = loaded(loadResource('routes', '1', JSON.stringify(body), { plugins: noPlugins }));
    assert.equal(value.priority, 0);
    assert.equal(value.status, 1);
    assert.deepEqual(value.upstream, { nodes, type: 'roundrobin', hash_on: 'vars', scheme: 'http', pass_host: 'pass' });
  });
  test('plugin defaults are filled at load', () => {
    const calls: Array<[string, boolean]> = [];
    const value = loaded(loadResource('routes', '1', JSON.stringify({ uri: '/a', plugins: { 'serverless-pre-function': {} } }), { plugins: installed(['serverless-pre-function'], calls) }));
    assert.deepEqual(value.plugins, { 'serverless-pre-function': { phase: 'access' } });
    assert.deepEqual(calls, [['route', true]]);
  });
  test('route and service hosts are lower-cased', () => {
    const route = loaded(loadResource('routes', '1', JSON.stringify({ uri: '/a', host: 'API.Example.COM', upstream_id: 1 }), { plugins: noPlugins }));
    assert.equal(route.host, 'api.example.com');
    const route2 = loaded(loadResource('routes', '2', JSON.stringify({ uri: '/a', hosts: ['*.Foo.com', 'bar.COM'], upstream_id: 1 }), { plugins: noPlugins }));
    assert.deepEqual(route2.hosts, ['*.foo.com', 'bar.com']);
    const service = loaded(loadResource('services', '1', JSON.stringify({ hosts: ['A.com'] }), { plugins: noPlugins }));
    assert.deepEqual(service.hosts, ['a.com']);
  });
  test('unknown plugins are dropped with a warning; the object is still used', () => {
    const result = loadResource('routes', '1', JSON.stringify({ uri: '/a', plugins: { 'key-auth': {}, 'limit-count': { count: 1 } } }), { plugins: installed(['limit-count']) });
    assert.ok(result.ok);
    assert.deepEqual(Object.keys(result.value.plugins as JsonObject), ['limit-count']);
    assert.deepEqual(result.warnings, ['unknown plugin [key-auth] ignored: it is not enabled on this gateway']);
  });
  test('standalone mode: an unknown plugin makes the object invalid', () => {
    const result = loadResource('routes', '1', JSON.stringify({ uri: '/a', plugins: { 'key-auth': {} } }), { plugins: installed([]), strictPlugins: true });
    assert.deepEqual(result, { ok: false, error: 'unknown plugin [key-auth]' });
  });
  test('references are not checked at load', () => {
    loaded(loadResource('routes', '1', JSON.stringify({ uri: '/a', service_id: 'missing', plugin_config_id: 'missing' }), { plugins: noPlugins }));
  });
  test('bare IPv6 node hosts are bracketed at load instead of refused', () => {
    const value = loaded(loadResource('upstreams', '1', JSON.stringify({ nodes: [{ host: '::1', port: 80, weight: 1 }] }), { plugins: noPlugins }));
    assert.deepEqual(value.nodes, [{ host: '[::1]', port: 80, weight: 1, priority: 0 }]);
  });
  test('plugin metadata keeps its id and gets the metadata defaults', () => {
    const value = loaded(loadResource('plugin_metadata', 'http-logger', '{"id":"http-logger"}', { plugins: installed(['http-logger']) }));
    assert.deepEqual(value, { id: 'http-logger', log_format: { host: '$host' } });
  });
  test('stored SSL keys are ciphertext: only PEM keys are parsed at load', () => {
    const cert = readFileSync(new URL('./fixtures/server.crt', import.meta.url), 'utf8');
    const ciphertext = Buffer.alloc(180, 7).toString('base64');
    loaded(loadResource('ssls', '1', JSON.stringify({ cert, key: ciphertext, snis: ['a.com'] }), { plugins: noPlugins }));
    const broken = loadResource('ssls', '1', JSON.stringify({ cert, key: `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(80)}\n-----END PRIVATE KEY-----`, snis: ['a.com'] }), { plugins: noPlugins });
    assert.ok(!broken.ok && broken.error.startsWith('failed to parse key: '));
  });
  test('a throwing plugin check costs only that object', () => {
    const throwing: PluginCatalog = { ...installed(['p']), checkPlugins: () => { throw new Error('boom'); } };
    assert.deepEqual(loadResource('routes', '1', JSON.stringify({ uri: '/a', plugins: { p: {} } }), { plugins: throwing }), {
      ok: false,
      error: 'failed to check the configuration: boom',
    });
  });
  test('invalid values are reported, not thrown', () => {
    assert.deepEqual(loadResource('routes', '1', JSON.stringify({ uri: '/a' }), { plugins: noPlugins }), {
      ok: false,
      error:
        'invalid configuration: object matches none of the required: ["plugins","uri"] or ["upstream","uri"] or ["upstream_id","uri"] or ["service_id","uri"] or ["plugins","uris"] or ["upstream","uris"] or ["upstream_id","uris"] or ["service_id","uris"] or ["script","uri"] or ["script","uris"]',
    });
    const notJson = loadResource('routes', '1', 'init_dir', { plugins: noPlugins });
    assert.ok(!notJson.ok && notJson.error.startsWith('invalid JSON: '));
    assert.deepEqual(loadResource('routes', '1', '[1]', { plugins: noPlugins }), {
      ok: false,
      error: 'invalid configuration: the stored value is not a JSON object',
    });
    const badId = loadResource('routes', 'has space', JSON.stringify({ uri: '/a', upstream_id: 1 }), { plugins: noPlugins });
    assert.deepEqual(badId, { ok: false, error: 'invalid configuration: property "id" validation failed: object matches none of the required' });
  });
});
