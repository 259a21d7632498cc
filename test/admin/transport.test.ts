/**
 * Transport rules of the Admin API (spec/admin-api.md §1, §3): headers,
 * CORS, the health probe, the allow-list, nginx pages, body limits, JSON
 * decoding and `?ttl=` validation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { ADMIN_KEY, routeBody, startAdmin, storeSnapshot, type AdminUnderTest } from './helpers.js';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-credentials': 'true',
  'access-control-expose-headers': '*',
  'access-control-max-age': '3600',
};

describe('admin transport', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());

  test('JSON content type, Server and CORS headers on every API response', async () => {
    const res = await admin.call('GET', '/apisix/admin/routes');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers.server, 'fngate/9.9.9');
    for (const [name, value] of Object.entries(CORS)) assert.equal(res.headers[name], value, name);
    assert.notEqual(res.headers.connection, 'close', 'a fully read request keeps its connection');
    const put = await admin.call('PUT', '/apisix/admin/routes/keep', { body: routeBody() });
    assert.notEqual(put.headers.connection, 'close');
    await admin.call('DELETE', '/apisix/admin/routes/keep');
  });

  test('X-API-VERSION marks the generic resource handler only', async () => {
    assert.equal((await admin.call('GET', '/apisix/admin/routes')).headers['x-api-version'], 'v3');
    const missing = await admin.call('GET', '/apisix/admin/routes/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-api-version'], 'v3');
    assert.equal((await admin.call('GET', '/apisix/admin/plugins/list')).headers['x-api-version'], undefined);
    const unsupported = await admin.call('GET', '/apisix/admin/nothing');
    assert.equal(unsupported.status, 404);
    assert.equal(unsupported.headers['x-api-version'], undefined);
  });

  test('OPTIONS is a CORS preflight answered without a token', async () => {
    const res = await admin.call('OPTIONS', '/apisix/admin/routes/1', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.equal(res.headers['access-control-allow-methods'], 'POST, GET, PUT, OPTIONS, DELETE, PATCH');
    assert.equal(res.headers['access-control-allow-headers'], '*');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.headers['access-control-allow-origin'], '*');
  });

  test('HEAD /apisix/admin is a health probe without a token', async () => {
    const res = await admin.call('HEAD', '/apisix/admin', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.text, '');
  });

  test('paths and methods outside the API get nginx 404 pages', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/apisix/admin'], ['HEAD', '/apisix/admin/routes'], ['GET', '/apisix/adminx']]) {
      const res = await admin.call(method as string, path as string);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      if (method !== 'HEAD') assert.match(res.text, /<title>404 Not Found<\/title>/);
    }
  });

  test('a malformed path is a 400 page', async () => {
    const res = await admin.call('GET', '/apisix/admin/routes/%zz');
    assert.equal(res.status, 400);
    assert.match(res.text, /400 Bad Request/);
  });

  test('unknown resources, and methods a resource module lacks', async () => {
    const unknown = await admin.call('GET', '/apisix/admin/foos/1');
    assert.deepEqual([unknown.status, unknown.json], [404, { error_msg: 'Unsupported resource type: foos' }]);
    const direct = await admin.call('GET', '/apisix/admin/credentials');
    assert.deepEqual([direct.status, direct.json], [404, { error_msg: 'Unsupported resource type: credentials' }]);
    const putPlugin = await admin.call('PUT', '/apisix/admin/plugins/x', { body: {} });
    assert.deepEqual([putPlugin.status, putPlugin.json], [404, { error_msg: 'not found' }]);
    const postSchema = await admin.call('POST', '/apisix/admin/schema/route', { body: {} });
    assert.deepEqual([postSchema.status, postSchema.json], [404, { error_msg: 'not found' }]);
  });

  test('malformed JSON is refused with the raw body echoed', async () => {
    const before = await storeSnapshot(admin.store);
    const res = await admin.call('PUT', '/apisix/admin/routes/1', { raw: '{"uri": "/a",' });
    assert.equal(res.status, 400);
    assert.match(res.json.error_msg, /^invalid request body: ./);
    assert.equal(res.json.req_body, '{"uri": "/a",');
    assert.deepEqual(await storeSnapshot(admin.store), before);
  });

  test('a non-numeric ttl is refused before anything happens', async () => {
    const res = await admin.call('PUT', '/apisix/admin/routes/1?ttl=abc', { body: routeBody() });
    assert.deepEqual([res.status, res.json], [400, { error_msg: 'invalid argument ttl: should be a number' }]);
    const zero = await admin.call('PUT', '/apisix/admin/routes/1?ttl=0', { body: routeBody() });
    assert.deepEqual([zero.status, zero.json], [400, { error_msg: 'invalid argument ttl: should be a positive number' }]);
    assert.equal(await admin.store.get('/apisix/routes/1'), undefined);
  });

  test('a body over 1.5 MiB is refused from its Content-Length, unread', async () => {
    const before = await storeSnapshot(admin.store);
    const big = Buffer.alloc(1_572_865, 0x20);
    const res = await admin.call('PUT', '/apisix/admin/routes/1', { raw: big });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { error_msg: 'invalid request body: request size 1572865 is greater than the maximum size 1572864 allowed' });
    assert.deepEqual(await storeSnapshot(admin.store), before);
  });

  test('a chunked body is refused once it passes 1.5 MiB', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    async function* upload(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 40; i++) yield chunk; // 2.5 MiB, no Content-Length
    }
    const res = await request(`${admin.url}/apisix/admin/routes/1`, {
      method: 'PUT',
      headers: { 'x-api-key': ADMIN_KEY },
      body: Readable.from(upload()),
    });
    const body = (await res.body.json()) as { error_msg: string };
    assert.equal(res.statusCode, 400);
    assert.match(body.error_msg, /^invalid request body: request size \d+ is greater than the maximum size 1572864 allowed$/);
    assert.equal(res.headers.connection, 'close');
    assert.equal(await admin.store.get('/apisix/routes/1'), undefined);
  });

  test('a body at the limit is accepted for parsing', async () => {
    const text = JSON.stringify(routeBody());
    const padded = text + ' '.repeat(1_572_864 - Buffer.byteLength(text));
    const res = await admin.call('PUT', '/apisix/admin/routes/big', { raw: padded });
    assert.equal(res.status, 201, res.text);
    await admin.call('DELETE', '/apisix/admin/routes/big');
  });
});

describe('admin transport options', () => {
  test('allow_admin refuses other clients with nginx 403 before any token check', async () => {
    const admin = await startAdmin({ allowAdmin: ['10.0.0.0/8'] });
    try {
      for (const method of ['GET', 'HEAD', 'OPTIONS']) {
        const res = await admin.call(method, method === 'GET' ? '/apisix/admin/routes' : '/apisix/admin');
        assert.equal(res.status, 403, method);
        assert.match(res.headers['content-type'] as string, /^text\/html/);
        if (method === 'GET') assert.match(res.text, /403 Forbidden/);
      }
    } finally {
      await admin.close();
    }
  });

  test('allow_admin: null lets every client through', async () => {
    const admin = await startAdmin({ allowAdmin: null });
    try {
      assert.equal((await admin.call('GET', '/apisix/admin/routes')).status, 200);
    } finally {
      await admin.close();
    }
  });

  test('with CORS off: no CORS headers and OPTIONS is a 404 page', async () => {
    const admin = await startAdmin({ cors: false });
    try {
      const res = await admin.call('GET', '/apisix/admin/routes');
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const preflight = await admin.call('OPTIONS', '/apisix/admin/routes');
      assert.equal(preflight.status, 404);
      assert.match(preflight.text, /404 Not Found/);
    } finally {
      await admin.close();
    }
  });

  test('enable_server_tokens: false hides the version', async () => {
    const admin = await startAdmin({ serverTokens: false });
    try {
      assert.equal((await admin.call('GET', '/apisix/admin/routes')).headers.server, 'fngate');
      assert.equal((await admin.call('GET', '/nothing')).headers.server, 'fngate');
    } finally {
      await admin.close();
    }
  });
});
