/** Collection GETs: markers, order, paging and filters (spec/admin-api.md §4.3, §4.6). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initStoreDirectories } from '../../src/admin/server.js';
import { routeBody, startAdmin, testPlugins, type AdminUnderTest } from './helpers.js';

describe('directory markers', () => {
  test('without markers an empty collection is 404; initStoreDirectories creates them once', async () => {
    const admin = await startAdmin({ bare: true });
    try {
      const res = await admin.call('GET', '/apisix/admin/routes');
      assert.deepEqual([res.status, res.json], [404, { message: 'Key not found' }]);
      await initStoreDirectories(admin.store, '/apisix');
      const marker = await admin.store.get('/apisix/routes/');
      assert.equal(marker?.value, 'init_dir');
      const revision = await admin.store.revision();
      await initStoreDirectories(admin.store, '/apisix');
      assert.equal(await admin.store.revision(), revision, 'existing markers are not rewritten');
      for (const dir of ['routes', 'services', 'upstreams', 'consumers', 'ssls', 'plugin_metadata', 'global_rules', 'plugin_configs', 'consumer_groups']) {
        const list = await admin.call('GET', `/apisix/admin/${dir}`);
        assert.deepEqual([list.status, list.json], [200, { list: [], total: 0 }], dir);
      }
    } finally {
      await admin.close();
    }
  });
});

describe('lists', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin({ deps: { plugins: testPlugins } });
    await admin.call('PUT', '/apisix/admin/services/1', { body: { upstream: routeBody().upstream } });
    // Created in this order: 2, 10, 1 — key order is 1, 10, 2.
    await admin.call('PUT', '/apisix/admin/routes/2', { body: { ...routeBody('/two'), name: 'api-two', labels: { env: 'prod' } } });
    await admin.call('PUT', '/apisix/admin/routes/10', { body: { uris: ['/ten', '/dix'], service_id: '1', name: 'web', labels: { team: 'a' } } });
    await admin.call('PUT', '/apisix/admin/routes/1', { body: { ...routeBody('/one'), name: 'api-one', service_id: 1 } });
  });
  after(() => admin.close());

  const ids = (json: { list: Array<{ value: { id: string } }> }): string[] => json.list.map((i) => i.value.id);

  test('items in key order with their revisions; the marker is not an item', async () => {
    const res = await admin.call('GET', '/apisix/admin/routes');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-api-version'], 'v3');
    assert.equal(res.json.total, 3);
    assert.deepEqual(ids(res.json), ['1', '10', '2']);
    const kv = await admin.store.get('/apisix/routes/10');
    assert.deepEqual(res.json.list[1], { key: '/apisix/routes/10', value: JSON.parse(kv?.value ?? ''), createdIndex: kv?.createRevision, modifiedIndex: kv?.modRevision });
  });

  test('name, label and uri filters (PCRE search), combined with AND', async () => {
    assert.deepEqual(ids((await admin.call('GET', '/apisix/admin/routes?name=^api')).json), ['1', '2']);
    assert.deepEqual(ids((await admin.call('GET', '/apisix/admin/routes?label=env')).json), ['2']);
    assert.deepEqual(ids((await admin.call('GET', '/apisix/admin/routes?label=')).json), ['1', '10', '2'], 'empty label: no restriction');
    assert.deepEqual(ids((await admin.call('GET', '/apisix/admin/routes?uri=dix')).json), ['10']);
    assert.deepEqual(ids((await admin.call('GET', '/apisix/admin/routes?uri=^/t&name=web')).json), ['10']);
    const none = await admin.call('GET', '/apisix/admin/routes?name=nothing');
    assert.deepEqual(none.json, { list: [], total: 0 });
    // An invalid pattern matches nothing, as a failed ngx.re.find.
    assert.deepEqual((await admin.call('GET', '/apisix/admin/routes?name=(')).json, { list: [], total: 0 });
  });

  test('filter=service_id%3D1 compares the stored value exactly', async () => {
    const res = await admin.call('GET', `/apisix/admin/routes?filter=${encodeURIComponent('service_id=1')}`);
    assert.deepEqual(ids(res.json), ['10'], 'the numeric service_id 1 of route 1 does not equal "1"');
    const ignored = await admin.call('GET', `/apisix/admin/routes?filter=${encodeURIComponent('desc=x')}`);
    assert.equal(ignored.json.total, 3);
  });

  test('paging sorts by creation and counts before slicing', async () => {
    const paged = await startAdmin();
    try {
      for (let i = 0; i < 25; i++) await paged.call('PUT', `/apisix/admin/routes/${String(25 - i).padStart(2, '0')}`, { body: routeBody() });
      const page2 = await paged.call('GET', '/apisix/admin/routes?page=2&page_size=10');
      assert.equal(page2.status, 200);
      assert.equal(page2.json.total, 25);
      assert.deepEqual(ids(page2.json), ['15', '14', '13', '12', '11', '10', '09', '08', '07', '06']);
      const last = await paged.call('GET', '/apisix/admin/routes?page=3&page_size=10');
      assert.deepEqual(ids(last.json), ['05', '04', '03', '02', '01']);
      const first = await paged.call('GET', '/apisix/admin/routes?page=0&page_size=10');
      assert.equal(ids(first.json)[0], '25');
      const onlyPage = await paged.call('GET', '/apisix/admin/routes?page=2');
      assert.equal(onlyPage.json.list.length, 25, 'paging needs both parameters');
      for (const size of ['5', '501', 'x']) {
        const bad = await paged.call('GET', `/apisix/admin/routes?page=1&page_size=${size}`);
        assert.equal(bad.status, 400);
        assert.equal(bad.text, 'page_size must be between 10 and 500');
        assert.equal(bad.headers['content-type'], 'application/json');
      }
    } finally {
      await paged.close();
    }
  });

  test('GET /consumers hides credentials; a consumer without credentials lists as 404', async () => {
    await admin.call('PUT', '/apisix/admin/consumers', { body: { username: 'jack' } });
    await admin.call('PUT', '/apisix/admin/consumers', { body: { username: 'rose' } });
    const cred = await admin.call('PUT', '/apisix/admin/consumers/jack/credentials/c1', { body: { plugins: { 'key-auth': { key: 'k1' } } } });
    assert.equal(cred.status, 201, cred.text);
    const consumers = await admin.call('GET', '/apisix/admin/consumers');
    assert.deepEqual(consumers.json.list.map((i: { key: string }) => i.key), ['/apisix/consumers/jack', '/apisix/consumers/rose']);
    assert.equal(consumers.json.total, 2);
    const creds = await admin.call('GET', '/apisix/admin/consumers/jack/credentials');
    assert.deepEqual([creds.status, creds.json.total, creds.json.list[0].key], [200, 1, '/apisix/consumers/jack/credentials/c1']);
    const none = await admin.call('GET', '/apisix/admin/consumers/rose/credentials');
    assert.deepEqual([none.status, none.json], [404, { message: 'Key not found' }]);
  });

  test('SSL objects never show their private keys', async () => {
    const value = { id: 's1', cert: 'CERT', key: 'KEY', keys: ['K2'], certs: ['C2'], snis: ['a.com'] };
    await admin.store.put('/apisix/ssls/s1', JSON.stringify(value));
    const one = await admin.call('GET', '/apisix/admin/ssls/s1');
    assert.deepEqual(one.json.value, { id: 's1', cert: 'CERT', certs: ['C2'], snis: ['a.com'] });
    const list = await admin.call('GET', '/apisix/admin/ssls');
    assert.deepEqual(list.json.list[0].value, { id: 's1', cert: 'CERT', certs: ['C2'], snis: ['a.com'] });
  });
});
