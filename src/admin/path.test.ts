import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminTarget, pathSegments } from './path.js';

describe('pathSegments', () => {
  test('normalises like nginx $uri', () => {
    assert.deepEqual(pathSegments('/apisix//admin/routes/1'), ['apisix', 'admin', 'routes', '1']);
    assert.deepEqual(pathSegments('/apisix/admin/routes/'), ['apisix', 'admin', 'routes']);
    assert.deepEqual(pathSegments('/apisix/admin/consumers/jack%2Fcredentials%2Fc1'), ['apisix', 'admin', 'consumers', 'jack', 'credentials', 'c1']);
    assert.deepEqual(pathSegments('/apisix/admin/routes/./1/../2'), ['apisix', 'admin', 'routes', '2']);
  });

  test('rejects targets nginx answers with 400', () => {
    assert.equal(pathSegments('/apisix/%zz'), undefined);
    assert.equal(pathSegments('/../x'), undefined);
    assert.equal(pathSegments('/a%00b'), undefined);
    assert.equal(pathSegments('apisix/admin'), undefined);
  });
});

describe('adminTarget', () => {
  test('resource, id and sub path', () => {
    assert.deepEqual(adminTarget(['routes']), { resource: 'routes', id: undefined, subPath: '' });
    assert.deepEqual(adminTarget(['routes', '1', 'upstream', 'nodes']), { resource: 'routes', id: '1', subPath: 'upstream/nodes' });
  });

  test('schema/plugins/{name} addresses the plugin schema', () => {
    assert.deepEqual(adminTarget(['schema', 'plugins', 'limit-count']), { resource: 'plugins', id: 'limit-count', subPath: '' });
    assert.deepEqual(adminTarget(['schema', 'route']), { resource: 'schema', id: 'route', subPath: '' });
  });

  test('consumers/{u}/credentials[/{id}] addresses credentials', () => {
    assert.deepEqual(adminTarget(['consumers', 'jack', 'credentials']), { resource: 'credentials', id: undefined, subPath: '', username: 'jack' });
    assert.deepEqual(adminTarget(['consumers', 'jack', 'credentials', 'c1']), { resource: 'credentials', id: 'c1', subPath: '', username: 'jack' });
    assert.deepEqual(adminTarget(['consumers', 'jack']), { resource: 'consumers', id: 'jack', subPath: '' });
  });
});
