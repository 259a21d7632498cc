import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultDocument } from './defaults.js';
import { mergeDocument } from './merge.js';
import type { RawObject } from './raw.js';

function merged(user: RawObject): { doc: RawObject; messages: string[] } {
  const doc = defaultDocument();
  const messages = mergeDocument(doc, user).map((issue) => issue.message);
  return { doc, messages };
}

describe('mergeDocument', () => {
  test('mappings merge key by key, keeping the other defaults', () => {
    const { doc, messages } = merged({ deployment: { etcd: { prefix: '/gw' } } });
    assert.deepEqual(messages, []);
    const etcd = (doc.deployment as RawObject).etcd as RawObject;
    assert.equal(etcd.prefix, '/gw');
    assert.equal(etcd.timeout, 30);
    assert.deepEqual(etcd.host, ['http://127.0.0.1:2379']);
  });

  test('lists replace the default list entirely', () => {
    const { doc } = merged({ deployment: { admin: { allow_admin: ['10.0.0.0/8'] } }, apisix: { node_listen: [9081, 9082] } });
    assert.deepEqual(((doc.deployment as RawObject).admin as RawObject).allow_admin, ['10.0.0.0/8']);
    assert.deepEqual((doc.apisix as RawObject).node_listen, [9081, 9082]);
  });

  test('null deletes the key', () => {
    const { doc } = merged({ deployment: { admin: { allow_admin: null, admin_key: null } } });
    const admin = (doc.deployment as RawObject).admin as RawObject;
    assert.equal(Object.hasOwn(admin, 'allow_admin'), false);
    assert.equal(Object.hasOwn(admin, 'admin_key'), false);
  });

  test('a scalar of another type than the default is an error in APISIX words', () => {
    const { messages } = merged({ deployment: { etcd: { timeout: '30s' } }, apisix: { enable_admin: 'yes' } });
    assert.deepEqual(messages, [
      'failed to merge, path[deployment->etcd->timeout] expect: number, but got: string',
      'failed to merge, path[apisix->enable_admin] expect: boolean, but got: string',
    ]);
  });

  test('a mapping where the default is a scalar is an error', () => {
    const { messages } = merged({ apisix: { enable_ipv6: { on: true } } });
    assert.deepEqual(messages, ['failed to merge, path[apisix->enable_ipv6] expect: boolean, but got: table']);
  });

  test('nginx_config, node_listen and keyring accept their other forms', () => {
    const { doc, messages } = merged({
      nginx_config: { worker_processes: 4, http: { client_max_body_size: '8m' } },
      apisix: { node_listen: 9090, data_encryption: { keyring: 'abcdefghijklmnop' } },
    });
    assert.deepEqual(messages, []);
    assert.equal((doc.nginx_config as RawObject).worker_processes, 4);
    assert.equal((doc.apisix as RawObject).node_listen, 9090);
  });

  test('a new mapping loses its null keys, as APISIX merges it into an empty table', () => {
    const { doc } = merged({ plugin_attr: { 'my-plugin': { a: 1, b: null } } });
    assert.deepEqual((doc.plugin_attr as RawObject)['my-plugin'], { a: 1 });
  });
});
