/** Admin API token check and roles (spec/admin-api.md §2). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, VIEWER_KEY, routeBody, startAdmin, type AdminUnderTest } from './helpers.js';

const failed = (description: string): unknown => ({ error_msg: 'failed to check token', description });

describe('admin authentication', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());

  test('no token → missing apikey', async () => {
    const res = await admin.call('GET', '/apisix/admin/routes', { key: null });
    assert.deepEqual([res.status, res.json], [401, failed('missing apikey')]);
    assert.equal(res.headers['content-type'], 'application/json');
  });

  test('an unknown or empty token → wrong apikey', async () => {
    for (const key of ['nope', '', ADMIN_KEY.slice(0, -1), `${ADMIN_KEY}x`]) {
      const res = await admin.call('GET', '/apisix/admin/routes', { key });
      assert.deepEqual([res.status, res.json], [401, failed('wrong apikey')], JSON.stringify(key));
    }
  });

  test('the token may come from the api_key query argument or the x_api_key cookie', async () => {
    const query = await admin.call('GET', `/apisix/admin/routes?api_key=${ADMIN_KEY}`, { key: null });
    assert.equal(query.status, 200);
    const cookie = await admin.call('GET', '/apisix/admin/routes', { key: null, headers: { cookie: `a=b; x_api_key=${ADMIN_KEY}` } });
    assert.equal(cookie.status, 200);
  });

  test('the query argument is looked at before the header, the header before the cookie', async () => {
    const queryFirst = await admin.call('GET', '/apisix/admin/routes?api_key=bad');
    assert.deepEqual([queryFirst.status, queryFirst.json], [401, failed('wrong apikey')]);
    const headerFirst = await admin.call('GET', '/apisix/admin/routes', { key: 'bad', headers: { cookie: `x_api_key=${ADMIN_KEY}` } });
    assert.deepEqual([headerFirst.status, headerFirst.json], [401, failed('wrong apikey')]);
  });

  test('a viewer may read but not write', async () => {
    assert.equal((await admin.call('GET', '/apisix/admin/routes', { key: VIEWER_KEY })).status, 200);
    assert.equal((await admin.call('GET', '/apisix/admin/plugins/list', { key: VIEWER_KEY })).status, 200);
    for (const [method, path] of [
      ['PUT', '/apisix/admin/routes/1'],
      ['POST', '/apisix/admin/routes'],
      ['PATCH', '/apisix/admin/routes/1'],
      ['DELETE', '/apisix/admin/routes/1'],
      ['POST', '/apisix/admin/schema/validate/routes'],
      ['PUT', '/apisix/admin/plugins/reload'],
    ] as const) {
      const res = await admin.call(method, path, { key: VIEWER_KEY, body: routeBody() });
      assert.deepEqual([res.status, res.json], [401, failed('invalid method for role viewer')], `${method} ${path}`);
    }
    assert.equal(await admin.store.get('/apisix/routes/1'), undefined);
  });

  test('the token check comes before resource dispatch', async () => {
    const res = await admin.call('GET', '/apisix/admin/nothing', { key: null });
    assert.deepEqual([res.status, res.json], [401, failed('missing apikey')]);
  });
});
