import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaCompileError, compileValidator } from './validator.js';
import { routeSchema } from './schema/route.js';
import { hashHeaderKeySchema, upstreamSchema } from './schema/upstream.js';
import { consumerSchema, credentialSchema } from './schema/consumer.js';
import { sslSchema } from './schema/ssl.js';

const route = compileValidator(routeSchema);
const upstream = compileValidator(upstreamSchema);
const consumer = compileValidator(consumerSchema);
const credential = compileValidator(credentialSchema);
const ssl = compileValidator(sslSchema);

const nodes = { '127.0.0.1:1980': 1 };

describe('message catalogue of spec/admin-api.md §6.10, from real schemas', () => {
  test('missing required', () => {
    assert.equal(consumer({}), 'property "username" is required');
  });
  test('wrong type, with Lua type names', () => {
    assert.equal(route({ uri: 1, upstream_id: 1 }), 'property "uri" validation failed: wrong type: expected string, got number');
    assert.equal(route({ uri: ['/a'], upstream_id: 1 }), 'property "uri" validation failed: wrong type: expected string, got table');
    assert.equal(route({ uri: null, upstream_id: 1 }), 'property "uri" validation failed: wrong type: expected string, got userdata');
    assert.equal(route({ uri: '/a', upstream_id: 1, priority: 1.5 }), 'property "priority" validation failed: wrong type: expected integer, got number');
    assert.equal(route({ uri: '/a', upstream_id: 1, enable_websocket: 'yes' }), 'property "enable_websocket" validation failed: wrong type: expected boolean, got string');
  });
  test('enum', () => {
    assert.equal(route({ uri: '/a', upstream_id: 1, status: 3 }), 'property "status" validation failed: matches none of the enum values');
  });
  test('string length', () => {
    assert.equal(consumer({ username: '' }), 'property "username" validation failed: string too short, expected at least 1, got 0');
    assert.equal(consumer({ username: 'a'.repeat(257) }), 'property "username" validation failed: string too long, expected at most 256, got 257');
  });
  test('array length', () => {
    assert.equal(route({ uris: [], upstream_id: 1 }), 'property "uris" validation failed: expect array to have at least 1 items');
  });
  test('uniqueItems, 1-based', () => {
    assert.equal(route({ uri: '/a', upstream_id: 1, hosts: ['a.com', 'b.com', 'a.com'] }), 'property "hosts" validation failed: expected unique items but items 1 and 3 are equal');
  });
  test('array item, 1-based (spec/admin-api.md §12 worked example)', () => {
    assert.equal(
      route({ uri: '/x', methods: ['FOO'], upstream_id: 1 }),
      'property "methods" validation failed: failed to validate item 1: matches none of the enum values',
    );
    assert.equal(
      route({ uri: '/x', methods: ['GET', 'FOO'], upstream_id: 1 }),
      'property "methods" validation failed: failed to validate item 2: matches none of the enum values',
    );
  });
  test('number bounds', () => {
    assert.equal(upstream({ nodes, retries: -1 }), 'property "retries" validation failed: expected -1 to be at least 0');
    assert.equal(
      upstream({ nodes, checks: { active: { healthy: { successes: 255 } } } }),
      'property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "successes" validation failed: expected 255 to be at most 254',
    );
    assert.equal(
      route({ uri: '/a', upstream_id: 1, timeout: { connect: 0, send: 1, read: 1 } }),
      'property "timeout" validation failed: property "connect" validation failed: expected 0 to be greater than 0',
    );
    assert.equal(
      upstream({ nodes, retry_timeout: -0.5 }),
      'property "retry_timeout" validation failed: expected -0.5 to be at least 0',
    );
  });
  test('anyOf, plain and with the required lists', () => {
    assert.equal(route({ uri: '/a', upstream_id: 1, id: '$#^@' }), 'property "id" validation failed: object matches none of the required');
    assert.equal(route({ uri: '/a', upstream_id: 0 }), 'property "upstream_id" validation failed: object matches none of the required');
    assert.equal(
      upstream({ nodes, checks: { passive: { type: 'http' } } }),
      'property "checks" validation failed: object matches none of the required: ["active"] or ["active","passive"]',
    );
  });
  test('oneOf: none and both', () => {
    assert.equal(upstream({}), 'value should match only one schema, but matches none');
    assert.equal(
      upstream({ nodes, service_name: 'a', discovery_type: 'dns' }),
      'value should match only one schema, but matches both schemas 1 and 2',
    );
  });
  test('allOf: route without uri or uris', () => {
    assert.equal(route({ upstream_id: 1 }), 'allOf 1 failed: value should match only one schema, but matches none');
    assert.equal(route({ uri: '/a', uris: ['/b'], upstream_id: 1 }), 'allOf 1 failed: value should match only one schema, but matches both schemas 1 and 2');
  });
  test('pattern, quoted as Lua %q', () => {
    assert.equal(compileValidator(hashHeaderKeySchema)('$#^@'), 'failed to match pattern "^[a-zA-Z0-9-_]+$" with "$#^@"');
    assert.equal(
      route({ uri: '/a', upstream_id: 1, labels: { env: 'a b' } }),
      'property "labels" validation failed: failed to validate env (matching ".*"): failed to match pattern "^\\\\S+$" with "a b"',
    );
  });
  test('additionalProperties', () => {
    assert.equal(route({ uri: '/a', upstream_id: 1, foo: 1 }), 'additional properties forbidden, found foo');
  });
  test('not', () => {
    assert.equal(route({ uri: '/a', plugins: {}, script: 'local _M = {} return _M' }), "value wasn't supposed to match schema");
  });
});

describe('other api7/jsonschema messages', () => {
  test('the route anyOf lists every alternative', () => {
    assert.equal(
      route({ uri: '/a' }),
      'object matches none of the required: ["plugins","uri"] or ["upstream","uri"] or ["upstream_id","uri"] or ["service_id","uri"] or ["plugins","uris"] or ["upstream","uris"] or ["upstream_id","uris"] or ["service_id","uris"] or ["script","uri"] or ["script","uris"]',
    );
  });
  test('maxProperties', () => {
    assert.equal(
      credential({ plugins: { 'key-auth': {}, 'basic-auth': {} } }),
      'property "plugins" validation failed: expect object to have at most 1 properties',
    );
  });
  test('dependent schema', () => {
    assert.equal(
      upstream({ nodes, tls: { client_cert: 'c'.repeat(128) } }),
      'property "tls" validation failed: failed to validate dependent schema for "client_cert": property "client_key" is required',
    );
    assert.equal(
      upstream({ nodes, tls: { client_cert_id: 1, client_cert: 'c'.repeat(128), client_key: 'k'.repeat(64) } }),
      'property "tls" validation failed: failed to validate dependent schema for "client_cert_id": value wasn\'t supposed to match schema',
    );
  });
  test('dependency lists', () => {
    const check = compileValidator({ type: 'object', dependencies: { a: ['b'] } });
    assert.equal(check({ a: 1 }), 'property "b" is required when "a" is set');
  });
  test('if / then / else', () => {
    assert.equal(ssl({ cert: 'c'.repeat(128), key: 'k'.repeat(64) }), 'then clause did not match');
    assert.equal(ssl({ type: 'client', cert: 'c'.repeat(128) }), 'else clause did not match');
  });
  test('several types, const, minProperties, multipleOf', () => {
    assert.equal(compileValidator({ type: ['string', 'number'] })(true), 'wrong type: expected one of string, number, got boolean');
    assert.equal(compileValidator({ const: 'a' })('b'), 'failed to check const value');
    assert.equal(compileValidator({ type: 'object', minProperties: 1 })({}), 'expect object to have at least 1 properties');
    assert.equal(compileValidator({ type: 'number', multipleOf: 0.5 })(0.7), 'expected 0.7 to be a multiple of 0.5');
    assert.equal(compileValidator({ type: 'number', exclusiveMaximum: 1 })(1), 'expected 1 to be smaller than 1');
    assert.equal(compileValidator({ type: 'array', maxItems: 1 })([1, 2]), 'expect array to have at most 1 items');
    assert.equal(compileValidator({ type: 'array', items: [{ type: 'string' }], additionalItems: false })(['a', 1]), 'found unexpected extra items in array');
  });
  test('formats: the address kinds api7/jsonschema knows', () => {
    assert.equal(route({ uri: '/a', upstream_id: 1, remote_addr: '10.0.0.1' }), undefined);
    assert.equal(route({ uri: '/a', upstream_id: 1, remote_addr: '10.0.0.0/8' }), undefined);
    assert.equal(route({ uri: '/a', upstream_id: 1, remote_addr: '::1' }), undefined);
    assert.equal(route({ uri: '/a', upstream_id: 1, remote_addrs: ['fe80::/10'] }), undefined);
    assert.equal(
      route({ uri: '/a', upstream_id: 1, remote_addrs: ['10.0.0.1', '300.1.1.1'] }),
      'property "remote_addrs" validation failed: failed to validate item 2: object matches none of the required',
    );
    assert.equal(compileValidator({ format: 'ipv4' })('1.2.3.04'), 'expect valid ipv4 address but got: 1.2.3.04');
    assert.equal(compileValidator({ format: 'ipv6' })('1::2::3'), 'expect valid ipv6 address but got: 1::2::3');
    assert.equal(compileValidator({ format: 'email' })('nobody'), 'expect valid email address but got: nobody');
  });
  test('formats api7/jsonschema ignores are not checked', () => {
    assert.equal(compileValidator({ type: 'string', format: 'uri' })('not a uri'), undefined);
    assert.equal(compileValidator({ type: 'string', format: 'my-own-format' })('x'), undefined);
  });
  test('local $ref keeps the property prefixes', () => {
    const check = compileValidator({
      type: 'object',
      properties: { a: { $ref: '#/definitions/port' } },
      definitions: { port: { type: 'integer', maximum: 65535 } },
    });
    assert.equal(check({ a: 70000 }), 'property "a" validation failed: expected 70000 to be at most 65535');
  });
  test('a property named with JSON-pointer characters', () => {
    const check = compileValidator({ type: 'object', properties: { 'a/b~c': { type: 'string' } } });
    assert.equal(check({ 'a/b~c': 1 }), 'property "a/b~c" validation failed: wrong type: expected string, got number');
  });
});

describe("api7/jsonschema's order, not Ajv's", () => {
  test('a property error is reported before the combinators of the same object', () => {
    // Ajv alone would report the allOf (uri missing) first.
    assert.equal(
      route({ upstream_id: 1, methods: ['FOO'] }),
      'property "methods" validation failed: failed to validate item 1: matches none of the enum values',
    );
  });
  test('a property error is reported before an additional property', () => {
    assert.equal(route({ uri: 1, upstream_id: 1, zzz: true }), 'property "uri" validation failed: wrong type: expected string, got number');
  });
  test('properties are checked in declaration order', () => {
    assert.equal(route({ uri: 1, upstream_id: 1, id: '!' }), 'property "id" validation failed: object matches none of the required');
  });
  test('the type of the value comes first', () => {
    assert.equal(route('not an object'), 'wrong type: expected object, got string');
    assert.equal(route([]), 'wrong type: expected object, got table');
  });
});

describe('compileValidator', () => {
  test('fills defaults into the value it validates', () => {
    const value: Record<string, unknown> = { uri: '/a', upstream: { nodes } };
    assert.equal(route(value), undefined);
    assert.equal(value.priority, 0);
    assert.equal(value.status, 1);
    assert.deepEqual(value.upstream, { nodes, type: 'roundrobin', hash_on: 'vars', scheme: 'http', pass_host: 'pass' });
  });
  test('keepalive_pool defaults only when the object is given', () => {
    const without: Record<string, unknown> = { nodes };
    upstream(without);
    assert.equal(without.keepalive_pool, undefined);
    const withPool: Record<string, unknown> = { nodes, keepalive_pool: {} };
    upstream(withPool);
    assert.deepEqual(withPool.keepalive_pool, { size: 320, idle_timeout: 60, requests: 1000 });
  });
  test('health check defaults', () => {
    const value: Record<string, unknown> = { nodes, checks: { active: { healthy: {} } } };
    assert.equal(upstream(value), undefined);
    const active = (value.checks as { active: Record<string, unknown> }).active;
    assert.equal(active.type, 'http');
    assert.equal(active.http_path, '/');
    assert.deepEqual(active.healthy, { interval: 1, http_statuses: [200, 302], successes: 2 });
    // Like api7/jsonschema, absent sub-objects are not created.
    assert.equal(active.unhealthy, undefined);
  });
  test('defaults are fresh copies, never shared between values', () => {
    const a: Record<string, unknown> = { nodes, checks: { active: { healthy: {} } } };
    const b: Record<string, unknown> = { nodes, checks: { active: { healthy: {} } } };
    upstream(a);
    upstream(b);
    const statuses = (v: Record<string, unknown>) => ((v.checks as { active: { healthy: { http_statuses: number[] } } }).active.healthy.http_statuses);
    statuses(a).push(999);
    assert.deepEqual(statuses(b), [200, 302]);
  });
  test('an invalid schema throws SchemaCompileError', () => {
    assert.throws(() => compileValidator({ type: 'no-such-type' }), (err: unknown) => err instanceof SchemaCompileError && err.code === 'SCHEMA_INVALID');
  });
  test('schemas with unknown keywords compile (strict off)', () => {
    assert.equal(compileValidator({ type: 'object', encrypt_fields: ['key'], properties: {} })({}), undefined);
  });
});
