import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedResourceError, coreSchemas, resourceKinds, validateSchemaOnly } from './registry.js';

describe('resourceKinds', () => {
  test('every kind, keyed by its URL segment', () => {
    assert.deepEqual([...resourceKinds.keys()].sort(), [
      'consumer_groups', 'consumers', 'credentials', 'global_rules', 'plugin_configs', 'plugin_metadata', 'routes', 'services', 'ssls', 'upstreams',
    ]);
    for (const [name, kind] of resourceKinds) assert.equal(kind.name, name);
  });
});

describe('coreSchemas', () => {
  test('the schema served is the schema enforced', () => {
    for (const kind of resourceKinds.values()) {
      if (kind.name === 'plugin_metadata') continue;
      assert.equal(coreSchemas.get(kind.schemaName), kind.schema, kind.name);
    }
  });
  test("APISIX's schema names", () => {
    for (const name of ['route', 'service', 'upstream', 'consumer', 'credential', 'consumer_group', 'plugin_config', 'global_rule', 'ssl', 'plugins', 'id_schema']) {
      assert.ok(coreSchemas.has(name), name);
    }
    assert.equal(coreSchemas.has('plugin_metadata'), false);
  });
  test('schemas are plain JSON', () => {
    for (const [name, schema] of coreSchemas) assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema, name);
  });
});

describe('validateSchemaOnly (spec/admin-api.md §10)', () => {
  test('schema messages without the invalid configuration prefix', () => {
    assert.equal(validateSchemaOnly('routes', { uri: 1, upstream_id: 1 }), 'property "uri" validation failed: wrong type: expected string, got number');
    assert.equal(validateSchemaOnly('consumers', {}), 'property "username" is required');
    assert.equal(validateSchemaOnly('upstreams', { nodes: { 'a:1': 1 } }), undefined);
  });
  test('no id injection, references, or plugin checks', () => {
    assert.equal(validateSchemaOnly('routes', { uri: '/a', plugins: { 'not-a-plugin': { x: 1 } }, upstream_id: 'gone' }), undefined);
    assert.equal(validateSchemaOnly('global_rules', { plugins: {} }), 'property "id" is required');
  });
  test('the body is not modified', () => {
    const body = { uri: '/a', upstream: { nodes: { 'a:1': 1 } } };
    validateSchemaOnly('routes', body);
    assert.deepEqual(body, { uri: '/a', upstream: { nodes: { 'a:1': 1 } } });
  });
  test('unknown resources', () => {
    assert.throws(() => validateSchemaOnly('protos', {}), (err: unknown) => err instanceof UnsupportedResourceError && err.message === 'Unsupported resource type: protos');
    assert.throws(() => validateSchemaOnly('plugin_metadata', {}), UnsupportedResourceError);
  });
});
