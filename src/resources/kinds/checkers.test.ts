import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { PluginCatalog, PluginTarget } from '../../plugin/catalog.js';
import { noPlugins } from '../../plugin/catalog.js';
import type { CheckContext, JsonObject } from '../types.js';
import { routeKind } from './route.js';
import { serviceKind } from './service.js';
import { upstreamKind } from './upstream.js';
import { consumerKind, credentialKind } from './consumer.js';
import { consumerGroupKind, globalRuleKind, pluginConfigKind } from './plugin-holders.js';
import { pluginMetadataKind } from './plugin-metadata.js';
import { sslKind } from './ssl.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const CERT = fixture('server.crt');
const KEY = fixture('server.key');
const CA = fixture('ca.crt');

interface TestPlugin {
  readonly auth?: boolean;
  /** Present as a module but not enabled in config.yaml. */
  readonly disabled?: boolean;
  readonly check?: (conf: JsonObject) => string | undefined;
  readonly metadata?: (value: JsonObject) => string | undefined;
}

/** A plugin catalog with APISIX's messages, standing in for the plugin registry. */
function catalog(plugins: Record<string, TestPlugin>, seen: PluginTarget[] = []): PluginCatalog {
  const installed = (name: string) => Object.hasOwn(plugins, name) && plugins[name]?.disabled !== true;
  return {
    has: installed,
    checkPlugins(confs, target) {
      seen.push(target);
      for (const [name, conf] of Object.entries(confs)) {
        if (typeof conf !== 'object' || conf === null) return `invalid plugin conf ${JSON.stringify(conf)} for plugin [${name}]`;
        if (!installed(name)) return `unknown plugin [${name}]`;
        const err = plugins[name]?.check?.(conf as JsonObject);
        if (err !== undefined) return `failed to check the configuration of plugin ${name} err: ${err}`;
      }
      return undefined;
    },
    isAuth: (name) => plugins[name]?.auth === true,
    exists: (name) => Object.hasOwn(plugins, name),
    encryptFields: () => [],
    checkMetadata: (name, value) => plugins[name]?.metadata?.(value),
  };
}

const authPlugins = catalog({
  'key-auth': { auth: true, check: (c) => (c.key === undefined || typeof c.key === 'string' ? undefined : 'property "key" validation failed: wrong type: expected string, got number') },
  'basic-auth': { auth: true },
  'jwt-auth': { auth: true },
  'limit-count': {},
  prometheus: {},
});

/** A store of `<dir>/<id>` → value, read like the Admin API's context does. */
function stored(entries: Record<string, JsonObject>, base: Partial<CheckContext> = {}): CheckContext {
  return {
    plugins: authPlugins,
    fillDefaults: false,
    lookup: (dir, id) => Promise.resolve(entries[`${dir}/${id}`]),
    list: (dir) =>
      Promise.resolve(
        Object.entries(entries)
          .filter(([key]) => key.startsWith(`${dir}/`))
          .map(([key, value]) => ({ id: key.slice(dir.length + 1), value })),
      ),
    ...base,
  };
}

const offline: CheckContext = { plugins: authPlugins, fillDefaults: false };
const nodes = { '127.0.0.1:1980': 1 };

describe('routes (spec/admin-api.md §6.1)', () => {
  test('host and hosts, remote_addr and remote_addrs, before the schema', async () => {
    assert.equal(await routeKind.check({ host: 'a.com', hosts: ['b.com'] }, offline), 'only one of host or hosts is allowed');
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 1, remote_addr: '1.1.1.1', remote_addrs: ['2.2.2.2'] }, offline),
      'only one of remote_addr or remote_addrs is allowed',
    );
  });
  test('schema errors are prefixed', async () => {
    assert.equal(
      await routeKind.check({ uri: '/x', methods: ['FOO'], upstream_id: 1 }, offline),
      'invalid configuration: property "methods" validation failed: failed to validate item 1: matches none of the enum values',
    );
    assert.equal(await routeKind.check({ upstream_id: 1 }, offline), 'invalid configuration: allOf 1 failed: value should match only one schema, but matches none');
    assert.equal(
      await routeKind.check({ id: '$#^@', uri: '/x', upstream_id: 1 }, offline),
      'invalid configuration: property "id" validation failed: object matches none of the required',
    );
  });
  test('a valid route passes and the body is not changed (no defaults at write time)', async () => {
    const body = { uri: '/hello', upstream: { type: 'roundrobin', nodes } };
    const before = structuredClone(body);
    assert.equal(await routeKind.check(body, stored({})), undefined);
    assert.deepEqual(body, before);
    assert.equal(await routeKind.check({ uri: '/p', plugins: {} }, offline), undefined);
  });
  test('inline upstream checks', async () => {
    assert.equal(
      await routeKind.check({ uri: '/a', upstream: { nodes: [{ host: '::1', port: 80, weight: 1 }] } }, offline),
      "invalid configuration: IPv6 address must be enclosed with '[' and ']'",
    );
    assert.equal(await routeKind.check({ uri: '/a', upstream: { nodes: [{ host: '[::1]', port: 80, weight: 1 }] } }, offline), undefined);
    assert.equal(await routeKind.check({ uri: '/a', upstream: { nodes: { '127.0.0.1:70000': 1 } } }, offline), 'invalid port 70000');
    assert.equal(
      await routeKind.check({ uri: '/a', upstream: { nodes, pass_host: 'rewrite' } }, offline),
      '`upstream_host` can\'t be empty when `pass_host` is `rewrite`',
    );
    assert.equal(await routeKind.check({ uri: '/a', upstream: { nodes, type: 'chash' } }, offline), 'missing key');
  });
  test('references must exist', async () => {
    const ctx = stored({ 'upstreams/1': { id: '1', nodes }, 'services/s1': { id: 's1' }, 'plugin_configs/p1': { id: 'p1', plugins: {} } });
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 1, service_id: 's1', plugin_config_id: 'p1' }, ctx), undefined);
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 2 }, ctx), 'failed to fetch upstream info by upstream id [2], response code: 404');
    assert.equal(await routeKind.check({ uri: '/a', service_id: 's2' }, ctx), 'failed to fetch service info by service id [s2], response code: 404');
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 1, plugin_config_id: 'p2' }, ctx),
      'failed to fetch plugin config info by plugin config id [p2], response code: 404',
    );
    // APISIX's order: upstream before service before plugin config.
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 9, service_id: 's9', plugin_config_id: 'p9' }, ctx),
      'failed to fetch upstream info by upstream id [9], response code: 404',
    );
  });
  test('a failing store read is reported as APISIX does', async () => {
    const ctx: CheckContext = { ...offline, lookup: () => Promise.reject(new Error('etcd unreachable')) };
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 1 }, ctx), 'failed to fetch upstream info by upstream id [1]: etcd unreachable');
  });
  test('without lookup (configs/validate), references are not checked', async () => {
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 404 }, offline), undefined);
  });
  test('plugins go through the catalog with the route target', async () => {
    const seen: PluginTarget[] = [];
    const ctx: CheckContext = { plugins: catalog({ 'limit-count': { check: () => 'property "count" is required' } }, seen), fillDefaults: false };
    assert.equal(await routeKind.check({ uri: '/a', plugins: { nope: {} } }, ctx), 'unknown plugin [nope]');
    assert.equal(
      await routeKind.check({ uri: '/a', plugins: { 'limit-count': {} } }, ctx),
      'failed to check the configuration of plugin limit-count err: property "count" is required',
    );
    assert.deepEqual(seen, ['route', 'route']);
    assert.equal(await routeKind.check({ uri: '/a', plugins: { 'key-auth': {} } }, { plugins: noPlugins, fillDefaults: false }), 'unknown plugin [key-auth]');
  });
  test('vars are compiled as lua-resty-expr rules', async () => {
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 1, vars: [['arg_name', '=', 'json']] }, offline),
      "failed to validate the 'vars' expression: invalid operator '='",
    );
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 1, vars: ['arg_name', '==', 'json'] }, offline),
      "failed to validate the 'vars' expression: rule should be wrapped inside brackets",
    );
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 1, vars: [['arg_name', '==', 'json']] }, offline), undefined);
  });
  test('filter_func must compile to a function', async () => {
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 1, filter_func: 'function (vars) { return (' }, offline),
      "failed to load 'filter_func' string: Unexpected token ')'",
    );
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 1, filter_func: 'function_x = 1' }, offline), "'filter_func' should be a function");
    assert.equal(
      await routeKind.check({ uri: '/a', upstream_id: 1, filter_func: 'return true' }, offline),
      'invalid configuration: property "filter_func" validation failed: failed to match pattern "^function" with "return true"',
    );
    assert.equal(await routeKind.check({ uri: '/a', upstream_id: 1, filter_func: 'function (vars) { return vars.arg_a == "1" }' }, offline), undefined);
  });
  test('dashboard scripts are refused', async () => {
    assert.equal(await routeKind.check({ uri: '/a', script: 'local _M = {} return _M' }, offline), "'script' is not supported by fngate");
  });
});

describe('services (spec/admin-api.md §6.2)', () => {
  test('schema, inline upstream, upstream_id, plugins', async () => {
    assert.equal(await serviceKind.check({ uri: '/a' }, offline), 'invalid configuration: additional properties forbidden, found uri');
    assert.equal(await serviceKind.check({ upstream: { nodes: { 'a:0': 1 } } }, offline), 'invalid port 0');
    assert.equal(await serviceKind.check({ upstream_id: 7 }, stored({})), 'failed to fetch upstream info by upstream id [7], response code: 404');
    assert.equal(await serviceKind.check({ plugins: { nope: {} } }, offline), 'unknown plugin [nope]');
    assert.equal(await serviceKind.check({ hosts: ['a.com'], upstream: { nodes } }, offline), undefined);
  });
});

describe('upstreams (spec/admin-api.md §6.3)', () => {
  test('bare IPv6 array nodes are refused before the schema runs', async () => {
    assert.equal(
      await upstreamKind.check({ nodes: [{ host: '::1', port: 80, weight: 1 }], bogus: true }, offline),
      "invalid configuration: IPv6 address must be enclosed with '[' and ']'",
    );
  });
  test('schema errors are prefixed', async () => {
    assert.equal(await upstreamKind.check({ type: 'roundrobin' }, offline), 'invalid configuration: value should match only one schema, but matches none');
  });
  test('map-form ports must be 1..65535', async () => {
    assert.equal(await upstreamKind.check({ nodes: { '127.0.0.1:65536': 1 } }, offline), 'invalid port 65536');
    assert.equal(await upstreamKind.check({ nodes: { '[::1]:0': 1 } }, offline), 'invalid port 0');
    assert.equal(await upstreamKind.check({ nodes: { 'a.com': 1, '[::1]:8080': 1, '::1': 1 } }, offline), undefined);
  });
  test('tls.client_cert_id must name an SSL object of type client', async () => {
    const ctx = stored({ 'ssls/s1': { id: 's1', type: 'client' }, 'ssls/s2': { id: 's2' } });
    assert.equal(await upstreamKind.check({ nodes, tls: { client_cert_id: 's1' } }, ctx), undefined);
    assert.equal(await upstreamKind.check({ nodes, tls: { client_cert_id: 's2' } }, ctx), 'failed to fetch ssl info by ssl id [s2], wrong ssl type');
    assert.equal(await upstreamKind.check({ nodes, tls: { client_cert_id: 3 } }, ctx), 'failed to fetch ssl info by ssl id [3], response code: 404');
  });
  test('pass_host rewrite needs upstream_host', async () => {
    assert.equal(await upstreamKind.check({ nodes, pass_host: 'rewrite', upstream_host: 'b.com' }, offline), undefined);
    assert.equal(await upstreamKind.check({ nodes, pass_host: 'rewrite' }, offline), '`upstream_host` can\'t be empty when `pass_host` is `rewrite`');
  });
  test('tls client certificate and key must parse', async () => {
    assert.equal(await upstreamKind.check({ nodes, scheme: 'https', tls: { client_cert: CERT, client_key: KEY } }, offline), undefined);
    const badCert = await upstreamKind.check({ nodes, tls: { client_cert: 'x'.repeat(200), client_key: KEY } }, offline);
    assert.match(badCert ?? '', /^failed to parse cert: .+/);
    const badKey = await upstreamKind.check({ nodes, tls: { client_cert: CERT, client_key: 'y'.repeat(100) } }, offline);
    assert.match(badKey ?? '', /^failed to parse key: .+/);
  });
  test('chash keys per hash_on', async () => {
    const chash = (extra: JsonObject) => upstreamKind.check({ nodes, type: 'chash', ...extra }, offline);
    assert.equal(await chash({}), 'missing key');
    assert.equal(await chash({ hash_on: 'consumer' }), undefined);
    assert.equal(await chash({ key: 'remote_addr' }), undefined);
    assert.equal(await chash({ key: 'arg_user' }), undefined);
    assert.equal(
      await chash({ key: 'http_x' }),
      'invalid configuration: failed to match pattern "^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$" with "http_x"',
    );
    assert.equal(await chash({ hash_on: 'header', key: 'X-User' }), undefined);
    assert.equal(await chash({ hash_on: 'cookie', key: '$#^@' }), 'invalid configuration: failed to match pattern "^[a-zA-Z0-9-_]+$" with "$#^@"');
    assert.equal(await chash({ hash_on: 'vars_combinations', key: '$host$uri' }), undefined);
  });
});

describe('consumers (spec/admin-api.md §6.4)', () => {
  test('schema', async () => {
    assert.equal(await consumerKind.check({}, offline), 'invalid configuration: property "username" is required');
    assert.equal(
      await consumerKind.check({ username: 'a b' }, offline),
      'invalid configuration: property "username" validation failed: failed to match pattern "^[a-zA-Z0-9_\\\\-]+$" with "a b"',
    );
  });
  test('plugins are checked with the consumer target and prefixed', async () => {
    const seen: PluginTarget[] = [];
    const ctx: CheckContext = { plugins: catalog({ 'key-auth': { auth: true } }, seen), fillDefaults: false };
    assert.equal(await consumerKind.check({ username: 'jack', plugins: { 'key-auth': { key: 'k' } } }, ctx), undefined);
    assert.equal(await consumerKind.check({ username: 'jack', plugins: { nope: {} } }, ctx), 'invalid plugins configuration: unknown plugin [nope]');
    assert.deepEqual(seen, ['consumer', 'consumer']);
  });
  const others = {
    'consumers/bob': { username: 'bob', plugins: { 'key-auth': { key: 'bob-key' }, 'basic-auth': { username: 'bob', password: 'p' } } },
    'consumers/alex': { username: 'alex' },
    'consumers/alex/credentials/cred-alex-a': { id: 'cred-alex-a', plugins: { 'jwt-auth': { key: 'alex-jwt' } } },
    'consumers/vault/credentials/c1': { id: 'c1', plugins: { 'key-auth': { key: '$secret://vault/kv/key' } } },
    'consumer_groups/g1': { id: 'g1', plugins: {} },
  };
  test('duplicate auth keys with another consumer or a credential', async () => {
    const ctx = stored(others, { selfId: 'jack' });
    assert.equal(
      await consumerKind.check({ username: 'jack', plugins: { 'key-auth': { key: 'bob-key' } } }, ctx),
      'duplicate key of plugin key-auth found with consumer: bob',
    );
    assert.equal(
      await consumerKind.check({ username: 'jack', plugins: { 'basic-auth': { username: 'bob', password: 'x' } } }, ctx),
      'duplicate key of plugin basic-auth found with consumer: bob',
    );
    assert.equal(
      await consumerKind.check({ username: 'jack', plugins: { 'jwt-auth': { key: 'alex-jwt' } } }, ctx),
      'duplicate key of plugin jwt-auth found with credential: cred-alex-a of consumer: alex',
    );
    assert.equal(await consumerKind.check({ username: 'jack', plugins: { 'key-auth': { key: 'fresh' } } }, ctx), undefined);
  });
  test('secret references and the object itself are not duplicates', async () => {
    assert.equal(
      await consumerKind.check({ username: 'jack', plugins: { 'key-auth': { key: '$secret://vault/kv/key' } } }, stored(others, { selfId: 'jack' })),
      undefined,
    );
    assert.equal(
      await consumerKind.check({ username: 'bob', plugins: { 'key-auth': { key: 'bob-key' } } }, stored(others, { selfId: 'bob' })),
      undefined,
    );
  });
  test('group_id must exist', async () => {
    const ctx = stored(others, { selfId: 'jack' });
    assert.equal(await consumerKind.check({ username: 'jack', group_id: 'g1' }, ctx), undefined);
    assert.equal(
      await consumerKind.check({ username: 'jack', group_id: 'g2' }, ctx),
      'failed to fetch consumer group info by consumer group id [g2], response code: 404',
    );
  });
});

describe('credentials (spec/admin-api.md §6.5)', () => {
  test('one plugin, installed, of auth type', async () => {
    assert.equal(
      await credentialKind.check({ id: 'c1', plugins: { 'key-auth': { key: 'a' }, 'basic-auth': {} } }, offline),
      'invalid configuration: property "plugins" validation failed: expect object to have at most 1 properties',
    );
    assert.equal(await credentialKind.check({ id: 'c1', plugins: { nope: {} } }, offline), 'invalid plugins configuration: unknown plugin [nope]');
    assert.equal(await credentialKind.check({ id: 'c1', plugins: { 'limit-count': {} } }, offline), 'only supports auth type plugins in consumer credential');
    assert.equal(
      await credentialKind.check({ id: 'c1', plugins: { 'key-auth': { key: 1 } } }, offline),
      'invalid plugins configuration: failed to check the configuration of plugin key-auth err: property "key" validation failed: wrong type: expected string, got number',
    );
    assert.equal(await credentialKind.check({ id: 'c1', name: 'laptop', plugins: { 'key-auth': { key: 'a' } } }, offline), undefined);
  });
  test('the credential target is used', async () => {
    const seen: PluginTarget[] = [];
    await credentialKind.check({ id: 'c1', plugins: { 'key-auth': {} } }, { plugins: catalog({ 'key-auth': { auth: true } }, seen), fillDefaults: false });
    assert.deepEqual(seen, ['credential']);
  });
  test('duplicate keys, excluding itself', async () => {
    const entries = {
      'consumers/bob': { username: 'bob', plugins: { 'key-auth': { key: 'bob-key' } } },
      'consumers/jack/credentials/c1': { id: 'c1', plugins: { 'key-auth': { key: 'jack-key' } } },
    };
    assert.equal(
      await credentialKind.check({ id: 'c2', plugins: { 'key-auth': { key: 'bob-key' } } }, stored(entries, { selfId: 'jack/credentials/c2' })),
      'duplicate key of plugin key-auth found with consumer: bob',
    );
    assert.equal(
      await credentialKind.check({ id: 'c2', plugins: { 'key-auth': { key: 'jack-key' } } }, stored(entries, { selfId: 'jack/credentials/c2' })),
      'duplicate key of plugin key-auth found with credential: c1 of consumer: jack',
    );
    assert.equal(
      await credentialKind.check({ id: 'c1', plugins: { 'key-auth': { key: 'jack-key' } } }, stored(entries, { selfId: 'jack/credentials/c1' })),
      undefined,
    );
  });
});

describe('consumer groups and plugin configs (spec/admin-api.md §6.6)', () => {
  test('plugins are required; plugin errors are not prefixed', async () => {
    for (const kind of [consumerGroupKind, pluginConfigKind]) {
      assert.equal(await kind.check({ id: '1' }, offline), 'invalid configuration: property "plugins" is required', kind.name);
      assert.equal(await kind.check({ id: '1', plugins: { nope: {} } }, offline), 'unknown plugin [nope]', kind.name);
      assert.equal(await kind.check({ id: '1', plugins: { 'limit-count': {} }, desc: 'd', labels: { team: 'a' } }, offline), undefined, kind.name);
    }
  });
});

describe('global rules (spec/admin-api.md §6.7)', () => {
  test('only id, plugins and timestamps', async () => {
    assert.equal(await globalRuleKind.check({ id: '1', plugins: {}, name: 'x' }, offline), 'invalid configuration: additional properties forbidden, found name');
    assert.equal(await globalRuleKind.check({ id: '1', plugins: {}, create_time: 1, update_time: 2 }, offline), undefined);
  });
  test('a plugin may be used by one global rule only', async () => {
    const entries = { 'global_rules/1': { id: '1', plugins: { 'limit-count': {} } }, 'global_rules/2': { id: '2', plugins: { prometheus: {} } } };
    assert.equal(
      await globalRuleKind.check({ id: '3', plugins: { 'limit-count': {} } }, stored(entries, { selfId: '3' })),
      "plugin 'limit-count' already exists in global rule with id '1'",
    );
    assert.equal(await globalRuleKind.check({ id: '1', plugins: { 'limit-count': {} } }, stored(entries, { selfId: '1' })), undefined);
  });
});

describe('plugin_metadata (spec/admin-api.md §6.8)', () => {
  const seenValues: JsonObject[] = [];
  const plugins = catalog({
    'http-logger': { disabled: true, metadata: (v) => (seenValues.push(v), typeof v.log_format === 'object' || v.log_format === undefined ? undefined : 'property "log_format" validation failed: wrong type: expected object, got string') },
  });
  test('the name must be a plugin module, enabled or not', async () => {
    assert.equal(await pluginMetadataKind.check({}, { plugins, fillDefaults: false }), 'missing plugin name');
    assert.equal(await pluginMetadataKind.check({ id: 'nope' }, { plugins, fillDefaults: false, selfId: 'nope' }), 'invalid plugin name');
    assert.equal(await pluginMetadataKind.check({ id: 'http-logger', log_format: { host: '$host' } }, { plugins, fillDefaults: false, selfId: 'http-logger' }), undefined);
  });
  test("the plugin's metadata schema decides, without the stored id", async () => {
    seenValues.length = 0;
    assert.equal(
      await pluginMetadataKind.check({ id: 'http-logger', log_format: 'x' }, { plugins, fillDefaults: false, selfId: 'http-logger' }),
      'invalid configuration: property "log_format" validation failed: wrong type: expected object, got string',
    );
    assert.deepEqual(seenValues, [{ log_format: 'x' }]);
  });
});

describe('ssls (spec/admin-api.md §6.9)', () => {
  test('schema: a server certificate needs an SNI', async () => {
    assert.equal(await sslKind.check({ cert: CERT, key: KEY }, offline), 'invalid configuration: then clause did not match');
    assert.equal(await sslKind.check({ cert: CERT, key: KEY, snis: ['test.fngate.local'] }, offline), undefined);
    assert.equal(await sslKind.check({ type: 'client', cert: CERT, key: KEY }, offline), undefined);
  });
  test('PEM must parse', async () => {
    assert.match((await sslKind.check({ cert: 'x'.repeat(200), key: KEY, sni: 'a.com' }, offline)) ?? '', /^failed to parse cert: .+/);
    assert.match((await sslKind.check({ cert: CERT, key: `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(80)}\n-----END PRIVATE KEY-----`, sni: 'a.com' }, offline)) ?? '', /^failed to parse key: .+/);
  });
  test('extra certificate pairs and the client CA', async () => {
    const base = { cert: CERT, key: KEY, sni: 'a.com' };
    assert.equal(await sslKind.check({ ...base, certs: [CERT], keys: [] }, offline), 'mismatched number of certs and keys');
    assert.equal(await sslKind.check({ ...base, certs: [CERT], keys: [KEY] }, offline), undefined);
    assert.match((await sslKind.check({ ...base, certs: ['z'.repeat(200)], keys: [KEY] }, offline)) ?? '', /^failed to handle cert-key pair\[1\]: failed to parse cert: /);
    assert.equal(await sslKind.check({ ...base, client: { ca: CA, depth: 2 } }, offline), undefined);
    assert.match((await sslKind.check({ ...base, client: { ca: 'q'.repeat(200) } }, offline)) ?? '', /^failed to validate client_cert: failed to parse cert: /);
  });
});

describe('ResourceKind metadata (spec/admin-api.md §3.1)', () => {
  test('kind strings and allowed methods', () => {
    const table = [routeKind, serviceKind, upstreamKind, consumerKind, credentialKind, consumerGroupKind, pluginConfigKind, globalRuleKind, pluginMetadataKind, sslKind].map(
      (k) => [k.name, k.kind, k.idProperty, k.allowPost, k.allowPatch, k.timestamps],
    );
    assert.deepEqual(table, [
      ['routes', 'route', 'id', true, true, true],
      ['services', 'service', 'id', true, true, true],
      ['upstreams', 'upstream', 'id', true, true, true],
      ['consumers', 'consumer', 'username', false, false, true],
      ['credentials', 'credential', 'id', false, false, true],
      ['consumer_groups', 'consumer group', 'id', false, true, true],
      ['plugin_configs', 'plugin config', 'id', false, true, true],
      ['global_rules', 'global rule', 'id', false, true, true],
      ['plugin_metadata', 'plugin_metadata', 'id', false, false, false],
      ['ssls', 'ssl', 'id', true, true, true],
    ]);
  });
});
