/**
 * Pins fake-azure-functions to spec/serverless-platforms.md §3.1–§3.4:
 * routing, key lookup and auth levels, the host's empty-bodied answers,
 * handler results, recording and fault switches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { HttpDouble } from './http-double.js';
import { startAzureFunctionsDouble } from './azure-functions.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

describe('fake-azure-functions', () => {
  let azure: HttpDouble;
  let bare: HttpDouble;

  before(async () => {
    azure = await startAzureFunctionsDouble({
      masterKey: 'master',
      hostKeys: { default: 'host-key' },
      functions: {
        HttpTrigger: { keys: { default: 'fn-key' }, handler: (req) => ({ body: `Hello, ${req.query.get('name') ?? 'nobody'}` }) },
        Other: { keys: { default: 'other-key' }, handler: () => ({ body: 'other' }) },
        Anonymous: { authLevel: 'anonymous', handler: (req) => ({ headers: { 'X-Extra-Header': 'MUST' }, body: `${req.method} ${req.path}` }) },
        Admin: { authLevel: 'admin', handler: () => ({ body: 'admin' }) },
        Products: { authLevel: 'anonymous', route: 'products/{category:alpha}/{id:int?}', handler: (req) => ({ body: JSON.stringify(req.params) }) },
        PostOnly: { authLevel: 'anonymous', methods: ['POST'], handler: (req) => ({ status: 201, body: req.body }) },
        Disabled: { authLevel: 'anonymous', disabled: true, handler: () => ({ body: 'disabled' }) },
        Empty: { authLevel: 'anonymous', handler: () => ({}) },
        Throws: { authLevel: 'anonymous', handler: () => { throw new Error('boom'); } },
        Typed: { authLevel: 'anonymous', handler: () => ({ headers: { 'Content-Type': 'application/json' }, body: '{}' }) },
      },
    });
    bare = await startAzureFunctionsDouble({ routePrefix: '', masterKey: 'm', functions: { hello: { authLevel: 'anonymous', handler: () => ({ body: 'no prefix' }) } } });
  });
  after(async () => {
    await Promise.all([azure.close(), bare.close()]);
  });

  async function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}, double = azure): Promise<Answer> {
    const res = await request(`${double.origin}${path}`, { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(options.body === undefined ? {} : { body: options.body }) });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  function assertEmpty(answer: Answer, status: number): void {
    assert.equal(answer.status, status);
    assert.equal(answer.text, '');
    assert.equal(answer.headers['content-length'], '0');
  }

  test('function level: a function key, a host key or the master key; the header or ?code=', async () => {
    for (const headers of [{ 'x-functions-key': 'fn-key' }, { 'x-functions-key': 'host-key' }, { 'x-functions-key': 'master' }]) {
      const answer = await call('/api/HttpTrigger?name=APISIX', { headers });
      assert.equal(answer.status, 200);
      assert.equal(answer.text, 'Hello, APISIX');
      assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
    }
    assert.equal((await call('/api/HttpTrigger?code=fn-key')).status, 200);
  });

  test('missing, wrong or another function\'s key → 401 with an empty body', async () => {
    assertEmpty(await call('/api/HttpTrigger'), 401);
    assertEmpty(await call('/api/HttpTrigger', { headers: { 'x-functions-key': 'wrong' } }), 401);
    assertEmpty(await call('/api/HttpTrigger', { headers: { 'x-functions-key': 'other-key' } }), 401);
  });

  test('the header wins even when empty: ?code= is then never read', async () => {
    assertEmpty(await call('/api/HttpTrigger?code=fn-key', { headers: { 'x-functions-key': '' } }), 401);
    assert.equal((await call('/api/HttpTrigger?code=wrong', { headers: { 'x-functions-key': 'fn-key' } })).status, 200);
  });

  test('x-functions-clientid plays no part in auth but is recorded', async () => {
    assertEmpty(await call('/api/HttpTrigger', { headers: { 'x-functions-clientid': 'default' } }), 401);
    assert.equal(azure.last().headers['x-functions-clientid'], 'default');
  });

  test('admin level takes the master key only; anonymous ignores keys', async () => {
    assertEmpty(await call('/api/Admin', { headers: { 'x-functions-key': 'host-key' } }), 401);
    assert.equal((await call('/api/Admin', { headers: { 'x-functions-key': 'master' } })).text, 'admin');
    assert.equal((await call('/api/Anonymous', { headers: { 'x-functions-key': 'nonsense' } })).status, 200);
  });

  test('routing: case-insensitive, duplicate slashes ignored, templates with constraints', async () => {
    const anonymous = await call('/API//anonymous');
    assert.equal(anonymous.text, 'GET /API/anonymous');
    assert.equal(anonymous.headers['x-extra-header'], 'MUST');
    assert.equal((await call('/api/products/books/42')).text, '{"category":"books","id":"42"}');
    assert.equal((await call('/api/products/books')).text, '{"category":"books"}');
    assertEmpty(await call('/api/products/books/forty-two'), 404);
    assertEmpty(await call('/api/nope'), 404);
    assert.equal((await call('/hello', {}, bare)).text, 'no prefix');
  });

  test('a method outside `methods` is a 404; a disabled function is 404 except with the master key', async () => {
    assertEmpty(await call('/api/PostOnly'), 404);
    const posted = await call('/api/PostOnly', { method: 'POST', body: 'payload' });
    assert.equal(posted.status, 201);
    assert.equal(posted.text, 'payload');
    assertEmpty(await call('/api/Disabled'), 404);
    assert.equal((await call('/api/Disabled', { headers: { 'x-functions-key': 'master' } })).text, 'disabled');
  });

  test('handler results: empty → 200 empty; a throw → 500 empty; an explicit type is kept', async () => {
    assertEmpty(await call('/api/Empty'), 200);
    assertEmpty(await call('/api/Throws'), 500);
    assert.equal((await call('/api/Typed')).headers['content-type'], 'application/json');
  });

  test('GET / is the host\'s "up and running" page', async () => {
    const page = await call('/');
    assert.equal(page.status, 200);
    assert.match(page.text, /app is up and running/);
  });

  test('recording: raw target and every header, including Host', async () => {
    await call('/api/Anonymous?x=1&x=2', { headers: { 'x-functions-key': 'k' } });
    const seen = azure.last();
    assert.equal(seen.target, '/api/Anonymous?x=1&x=2');
    assert.equal(seen.headers.host, `127.0.0.1:${azure.port}`);
    assert.equal(seen.headers['x-functions-key'], 'k');
  });

  test('fault switches: delay, 502 after a delay (front-end cut-off), reset', async () => {
    try {
      azure.faults.delayMs = 150;
      azure.faults.status = 502;
      const started = Date.now();
      assertEmpty(await call('/api/Anonymous'), 502);
      assert.ok(Date.now() - started >= 140);
      azure.reset();
      azure.faults.reset = true;
      await assert.rejects(call('/api/Anonymous'));
    } finally {
      azure.reset();
    }
  });
});
