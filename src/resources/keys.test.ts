import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APISIX_DIRECTORIES, INIT_DIR_VALUE, directoryKey, parseCredentialId, parseResourceKey, resourceDirectory, resourceKey } from './keys.js';
import type { ResourceName } from './types.js';

describe('resourceKey / parseResourceKey', () => {
  const cases: Array<[ResourceName, string, string]> = [
    ['routes', '1', '/apisix/routes/1'],
    ['services', 's-1', '/apisix/services/s-1'],
    ['upstreams', '00000000000000000046', '/apisix/upstreams/00000000000000000046'],
    ['consumers', 'jack', '/apisix/consumers/jack'],
    ['credentials', 'jack/credentials/c1', '/apisix/consumers/jack/credentials/c1'],
    ['consumer_groups', 'g1', '/apisix/consumer_groups/g1'],
    ['plugin_configs', 'p.1', '/apisix/plugin_configs/p.1'],
    ['global_rules', '1', '/apisix/global_rules/1'],
    ['plugin_metadata', 'http-logger', '/apisix/plugin_metadata/http-logger'],
    ['ssls', '1', '/apisix/ssls/1'],
  ];
  for (const [name, id, key] of cases) {
    test(`${name} ${id} <-> ${key}`, () => {
      assert.equal(resourceKey('/apisix', name, id), key);
      assert.deepEqual(parseResourceKey('/apisix', key), { name, id });
    });
  }
  test('a prefix with a trailing slash or another name', () => {
    assert.equal(resourceKey('/apisix/', 'routes', '1'), '/apisix/routes/1');
    assert.equal(resourceKey('/gw', 'routes', '1'), '/gw/routes/1');
    assert.deepEqual(parseResourceKey('/gw/', '/gw/routes/1'), { name: 'routes', id: '1' });
    assert.equal(parseResourceKey('/gw', '/apisix/routes/1'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisixx/routes/1'), undefined);
  });
  test('directory markers, gen_id, the plugins list and other kinds are not resources', () => {
    for (const dir of APISIX_DIRECTORIES) assert.equal(parseResourceKey('/apisix', directoryKey('/apisix', dir)), undefined, dir);
    assert.equal(parseResourceKey('/apisix', '/apisix/gen_id'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/plugins'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/protos/1'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/stream_routes/1'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/secrets/vault/1'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/services/1/graphql_cost_decorations/2'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/consumers/jack/credentials/'), undefined);
    assert.equal(parseResourceKey('/apisix', '/apisix/consumers/jack/other/c1'), undefined);
  });
  test('directories and markers', () => {
    assert.equal(directoryKey('/apisix', 'routes'), '/apisix/routes/');
    assert.equal(INIT_DIR_VALUE, 'init_dir');
    assert.equal(resourceDirectory('credentials'), 'consumers');
    assert.equal(resourceDirectory('ssls'), 'ssls');
    assert.equal(APISIX_DIRECTORIES.length, 13);
  });
  test('parseCredentialId', () => {
    assert.deepEqual(parseCredentialId('jack/credentials/c-1.a'), { username: 'jack', id: 'c-1.a' });
    assert.equal(parseCredentialId('jack'), undefined);
    assert.equal(parseCredentialId('jack/credentials/'), undefined);
  });
});
