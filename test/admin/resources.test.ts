/**
 * The generic resource handler: ids, timestamps, stored shape, validation
 * order, POST id generation, TTL, DELETE, and store failures
 * (spec/admin-api.md §3–§6).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreReadOnlyError, type ConfigStore } from '../../src/store/types.js';
import { routeBody, startAdmin, storeSnapshot, testPlugins, type AdminUnderTest } from './helpers.js';

describe('resource writes and reads', () => {
  let admin: AdminUnderTest;
  let clock = 1_700_000_000;
  before(async () => {
    admin = await startAdmin({ deps: { now: () => clock } });
  });
  after(() => admin.close());

  test('PUT creates (201) then replaces (200), keeping create_time', async () => {
    clock = 1_700_000_000;
    const created = await admin.call('PUT', '/apisix/admin/routes/1', { body: routeBody() });
    assert.equal(created.status, 201);
    assert.equal(created.headers['x-api-version'], 'v3');
    assert.deepEqual(created.json, {
      key: '/apisix/routes/1',
      value: { id: '1', ...routeBody(), create_time: 1_700_000_000, update_time: 1_700_000_000 },
    });

    clock = 1_700_000_100;
    const replaced = await admin.call('PUT', '/apisix/admin/routes/1', { body: routeBody('/again') });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.json.value, { id: '1', ...routeBody('/again'), create_time: 1_700_000_000, update_time: 1_700_000_100 });

    const kv = await admin.store.get('/apisix/routes/1');
    assert.deepEqual(JSON.parse(kv?.value ?? ''), replaced.json.value);
  });

  test('GET one returns the stored value with its revisions', async () => {
    const res = await admin.call('GET', '/apisix/admin/routes/1');
    const kv = await admin.store.get('/apisix/routes/1');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { key: '/apisix/routes/1', value: JSON.parse(kv?.value ?? ''), createdIndex: kv?.createRevision, modifiedIndex: kv?.modRevision });
    assert.notEqual(kv?.createRevision, kv?.modRevision);
  });

  test('schema defaults are validated but never stored', async () => {
    const res = await admin.call('PUT', '/apisix/admin/routes/defaults', { body: { uri: '/d', upstream: { nodes: { '127.0.0.1:8080': 1 }, type: 'roundrobin' } } });
    assert.equal(res.status, 201);
    const stored = JSON.parse((await admin.store.get('/apisix/routes/defaults'))?.value ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(stored).sort(), ['create_time', 'id', 'update_time', 'upstream', 'uri']);
    assert.deepEqual(stored.upstream, { nodes: { '127.0.0.1:8080': 1 }, type: 'roundrobin' });
  });

  test('the URL id wins and is stored as a string; a different body id is refused', async () => {
    const same = await admin.call('PUT', '/apisix/admin/routes/7', { body: { id: 7, ...routeBody() } });
    assert.equal(same.status, 201);
    assert.equal(same.json.value.id, '7');
    const wrong = await admin.call('PUT', '/apisix/admin/routes/7', { body: { id: 8, ...routeBody() } });
    assert.deepEqual([wrong.status, wrong.json], [400, { error_msg: 'wrong route id' }]);
  });

  test('PUT without an id in the URL takes the body id with its JSON type', async () => {
    const text = await admin.call('PUT', '/apisix/admin/routes', { body: { id: 'r1', ...routeBody() } });
    assert.deepEqual([text.status, text.json.key, text.json.value.id], [201, '/apisix/routes/r1', 'r1']);
    const number = await admin.call('PUT', '/apisix/admin/routes', { body: { id: 42, ...routeBody() } });
    assert.deepEqual([number.status, number.json.key, number.json.value.id], [201, '/apisix/routes/42', 42]);
    const missing = await admin.call('PUT', '/apisix/admin/routes', { body: routeBody() });
    assert.deepEqual([missing.status, missing.json], [400, { error_msg: 'missing route id' }]);
  });

  test('POST generates a 20-digit id from the revision of the gen_id write', async () => {
    const res = await admin.call('POST', '/apisix/admin/routes', { body: routeBody('/posted') });
    assert.equal(res.status, 201);
    const id = res.json.value.id as string;
    assert.match(id, /^\d{20}$/);
    const genId = await admin.store.get('/apisix/gen_id');
    assert.equal(genId?.value, '1');
    assert.equal(Number(id), genId?.modRevision);
    assert.equal(res.json.key, `/apisix/routes/${id}`);
    assert.equal(res.json.value.create_time, res.json.value.update_time);
    const again = await admin.call('POST', '/apisix/admin/routes', { body: routeBody('/posted2') });
    assert.ok(Number(again.json.value.id) > Number(id));
  });

  test('POST refuses ids and is not allowed for every kind', async () => {
    for (const [path, body] of [['/apisix/admin/routes/5', routeBody()], ['/apisix/admin/routes', { id: 5, ...routeBody() }]] as const) {
      const res = await admin.call('POST', path, { body });
      assert.deepEqual([res.status, res.json], [400, { error_msg: 'wrong route id, do not need it' }]);
    }
    const group = await admin.call('POST', '/apisix/admin/consumer_groups', { body: { plugins: {} } });
    assert.deepEqual([group.status, group.json], [405, { error_msg: 'not supported `POST` method for consumer group' }]);
    assert.equal(group.headers['x-api-version'], 'v3');
  });

  test('write errors in APISIX order, and nothing is stored after any of them', async () => {
    const before = await storeSnapshot(admin.store);
    const cases: Array<[method: string, path: string, body: unknown, status: number, message: string]> = [
      ['PUT', '/apisix/admin/routes/9', undefined, 400, 'missing configurations'],
      ['POST', '/apisix/admin/routes', undefined, 400, 'missing configurations'],
      ['PUT', '/apisix/admin/routes/9', { ...routeBody(), create_time: 1 }, 400, 'the property is forbidden:  create_time'],
      ['PUT', '/apisix/admin/routes/9', { ...routeBody(), update_time: 1 }, 400, 'the property is forbidden:  update_time'],
      ['PUT', '/apisix/admin/routes/9', { uri: '/a', upstream: { ...(routeBody().upstream as object), create_time: 1 } }, 400, 'the property is forbidden:  upstream.create_time'],
      ['POST', '/apisix/admin/routes', { ...routeBody(), plugins: { create_time: {} } }, 400, 'the property is forbidden:  plugins.create_time'],
      ['PUT', '/apisix/admin/routes/9', { uri: '/x', methods: ['FOO'], upstream_id: 1 }, 400,
        'invalid configuration: property "methods" validation failed: failed to validate item 1: matches none of the enum values'],
      ['PUT', '/apisix/admin/routes/9', { uri: 1, upstream_id: 1 }, 400, 'invalid configuration: property "uri" validation failed: wrong type: expected string, got number'],
      ['PUT', '/apisix/admin/routes/9', { uri: '/a', upstream_id: 'missing' }, 400, 'failed to fetch upstream info by upstream id [missing], response code: 404'],
      ['PUT', '/apisix/admin/routes/9', { uri: '/a', plugins: { 'no-such-plugin': {} } }, 400, 'unknown plugin [no-such-plugin]'],
      ['PUT', '/apisix/admin/routes/bad%20id', routeBody(), 400, 'invalid configuration: property "id" validation failed: object matches none of the required'],
      ['PUT', '/apisix/admin/routes', [1, 2], 400, 'missing route id'],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await admin.call(method, path, body === undefined ? {} : { body });
      assert.deepEqual([res.status, res.json], [status, { error_msg: message }], `${method} ${path} ${JSON.stringify(body)}`);
    }
    const notObject = await admin.call('PUT', '/apisix/admin/routes/9', { body: 'text' });
    assert.equal(notObject.status, 400);
    assert.match(notObject.json.error_msg, /^invalid configuration: .*expected object, got string/);
    assert.deepEqual(await storeSnapshot(admin.store), before);
  });

  test('GET of a missing object is 404 Key not found', async () => {
    const res = await admin.call('GET', '/apisix/admin/upstreams/none');
    assert.deepEqual([res.status, res.json], [404, { message: 'Key not found' }]);
  });

  test('DELETE answers deleted "1", then 404; without an id it is refused', async () => {
    await admin.call('PUT', '/apisix/admin/routes/del', { body: routeBody() });
    const res = await admin.call('DELETE', '/apisix/admin/routes/del');
    assert.deepEqual([res.status, res.json], [200, { deleted: '1', key: '/apisix/routes/del' }]);
    assert.equal(await admin.store.get('/apisix/routes/del'), undefined);
    const again = await admin.call('DELETE', '/apisix/admin/routes/del');
    assert.deepEqual([again.status, again.json], [404, { message: 'Key not found' }]);
    const noId = await admin.call('DELETE', '/apisix/admin/routes');
    assert.deepEqual([noId.status, noId.json], [400, { error_msg: 'missing route id' }]);
  });

  test('?ttl= attaches a lease: the object disappears after it', async () => {
    const res = await admin.call('PUT', '/apisix/admin/routes/ttl?ttl=1', { body: routeBody() });
    assert.equal(res.status, 201);
    assert.notEqual((await admin.store.get('/apisix/routes/ttl'))?.lease, undefined);
    const deadline = Date.now() + 5000;
    while ((await admin.store.get('/apisix/routes/ttl')) !== undefined) {
      assert.ok(Date.now() < deadline, 'the key should expire');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await admin.call('GET', '/apisix/admin/routes/ttl')).status, 404);
  });

  test('plugin_metadata: the name is the id, stored without timestamps', async () => {
    const metadata = await startAdmin({ deps: { plugins: testPlugins } });
    try {
      const res = await metadata.call('PUT', '/apisix/admin/plugin_metadata/http-logger', { body: { log_format: { host: '$host' } } });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.json, { key: '/apisix/plugin_metadata/http-logger', value: { id: 'http-logger', log_format: { host: '$host' } } });
      const missing = await metadata.call('PUT', '/apisix/admin/plugin_metadata', { body: { log_format: {} } });
      assert.deepEqual([missing.status, missing.json], [400, { error_msg: 'missing plugin name' }]);
      const unknown = await metadata.call('PUT', '/apisix/admin/plugin_metadata/nope', { body: {} });
      assert.deepEqual([unknown.status, unknown.json], [400, { error_msg: 'invalid plugin name' }]);
      const post = await metadata.call('POST', '/apisix/admin/plugin_metadata', { body: {} });
      assert.deepEqual([post.status, post.json], [405, { error_msg: 'not supported `POST` method for plugin_metadata' }]);
    } finally {
      await metadata.close();
    }
  });
});

describe('store failures', () => {
  test('an unavailable store is a 503 with its message', async () => {
    const store = new MemoryStore();
    const admin = await startAdmin({ store });
    try {
      await store.close();
      const res = await admin.call('GET', '/apisix/admin/routes/1');
      assert.deepEqual([res.status, res.json], [503, { error_msg: 'the memory store is closed' }]);
    } finally {
      await admin.close();
    }
  });

  test('a read-only store refuses writes with a pointer to the standalone file', async () => {
    const inner = new MemoryStore();
    await inner.put('/apisix/routes/1', JSON.stringify({ id: '1', ...routeBody() }));
    const store: ConfigStore = {
      backend: 'yaml',
      readOnly: true,
      get: (k) => inner.get(k),
      range: (p) => inner.range(p),
      put: () => Promise.reject(new StoreReadOnlyError('read-only')),
      delete: () => Promise.reject(new StoreReadOnlyError('read-only')),
      watch: (p, o) => inner.watch(p, o),
      revision: () => inner.revision(),
      close: () => inner.close(),
    };
    const admin = await startAdmin({ store, bare: true });
    try {
      assert.equal((await admin.call('GET', '/apisix/admin/routes/1')).status, 200);
      const message = 'the Admin API cannot change resources when config_provider is yaml; edit the standalone file instead';
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const res = await admin.call(method, '/apisix/admin/routes/1', { body: routeBody() });
        assert.deepEqual([res.status, res.json], [400, { error_msg: message }], method);
      }
    } finally {
      await admin.close();
      await inner.close();
    }
  });
});
