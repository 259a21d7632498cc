/** Consumers and their credentials (spec/admin-api.md §5.2, §6.4, §6.5). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAdmin, storeSnapshot, testPlugins, type AdminUnderTest } from './helpers.js';

describe('consumers and credentials', () => {
  let admin: AdminUnderTest;
  const clock = 1_700_000_000;
  before(async () => {
    admin = await startAdmin({ deps: { plugins: testPlugins, now: () => clock } });
  });
  after(() => admin.close());

  test('a consumer is keyed by username and stored without id', async () => {
    const res = await admin.call('PUT', '/apisix/admin/consumers', { body: { username: 'jack' } });
    assert.deepEqual([res.status, res.json], [201, { key: '/apisix/consumers/jack', value: { username: 'jack', create_time: clock, update_time: clock } }]);
    const named = await admin.call('PUT', '/apisix/admin/consumers/jack', { body: { username: 'jack', desc: 'd' } });
    assert.equal(named.status, 200);
    assert.equal(named.json.value.id, undefined);
  });

  test('username rules: schema first, then the URL name', async () => {
    const before = await storeSnapshot(admin.store);
    const wrong = await admin.call('PUT', '/apisix/admin/consumers/jack', { body: { username: 'tom' } });
    assert.deepEqual([wrong.status, wrong.json], [400, { error_msg: 'wrong username' }]);
    const missing = await admin.call('PUT', '/apisix/admin/consumers/jack', { body: { desc: 'x' } });
    assert.deepEqual([missing.status, missing.json], [400, { error_msg: 'invalid configuration: property "username" is required' }]);
    const noName = await admin.call('PUT', '/apisix/admin/consumers', { body: { desc: 'x' } });
    assert.deepEqual([noName.status, noName.json], [400, { error_msg: 'invalid configuration: property "username" is required' }]);
    const post = await admin.call('POST', '/apisix/admin/consumers', { body: { username: 'x' } });
    assert.deepEqual([post.status, post.json], [405, { error_msg: 'not supported `POST` method for consumer' }]);
    assert.deepEqual(await storeSnapshot(admin.store), before);
  });

  test('credential lifecycle', async () => {
    const missingId = await admin.call('PUT', '/apisix/admin/consumers/jack/credentials', { body: { plugins: { 'key-auth': { key: 'k' } } } });
    assert.deepEqual([missingId.status, missingId.json], [400, { error_msg: 'missing credential id' }]);
    const noConsumer = await admin.call('PUT', '/apisix/admin/consumers/nobody/credentials/c1', { body: { plugins: { 'key-auth': { key: 'k' } } } });
    assert.deepEqual([noConsumer.status, noConsumer.json], [404, { error_msg: 'consumer not found' }]);
    assert.equal(await admin.store.get('/apisix/consumers/nobody/credentials/c1'), undefined);

    const created = await admin.call('PUT', '/apisix/admin/consumers/jack/credentials/c1', { body: { plugins: { 'key-auth': { key: 'k1' } } } });
    assert.deepEqual([created.status, created.json], [201, {
      key: '/apisix/consumers/jack/credentials/c1',
      value: { id: 'c1', plugins: { 'key-auth': { key: 'k1' } }, create_time: clock, update_time: clock },
    }]);
    const got = await admin.call('GET', '/apisix/admin/consumers/jack/credentials/c1');
    assert.deepEqual([got.status, got.json.value.id], [200, 'c1']);

    const wrongId = await admin.call('PUT', '/apisix/admin/consumers/jack/credentials/c1', { body: { id: 'c2', plugins: { 'key-auth': { key: 'k1' } } } });
    assert.deepEqual([wrongId.status, wrongId.json], [400, { error_msg: 'wrong credential id' }]);
    for (const method of ['POST', 'PATCH'] as const) {
      const res = await admin.call(method, `/apisix/admin/consumers/jack/credentials${method === 'PATCH' ? '/c1' : ''}`, { body: { desc: 'x' } });
      assert.deepEqual([res.status, res.json], [405, { error_msg: `not supported \`${method}\` method for credential` }]);
    }

    const deleted = await admin.call('DELETE', '/apisix/admin/consumers/jack/credentials/c1');
    assert.deepEqual([deleted.status, deleted.json], [200, { deleted: '1', key: '/apisix/consumers/jack/credentials/c1' }]);
  });

  test('deleting a consumer deletes its credentials', async () => {
    await admin.call('PUT', '/apisix/admin/consumers', { body: { username: 'ann' } });
    for (const id of ['a', 'b']) {
      const res = await admin.call('PUT', `/apisix/admin/consumers/ann/credentials/${id}`, { body: { plugins: { 'key-auth': { key: `ann-${id}` } } } });
      assert.equal(res.status, 201, res.text);
    }
    const res = await admin.call('DELETE', '/apisix/admin/consumers/ann');
    assert.deepEqual([res.status, res.json], [200, { deleted: '1', key: '/apisix/consumers/ann' }]);
    assert.deepEqual((await admin.store.range('/apisix/consumers/ann')).kvs, []);
  });
});
