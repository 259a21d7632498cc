/**
 * The openwhisk plugin through the real gateway against fake-whisk: every
 * case of APISIX's `t/plugin/openwhisk.t` (spec/serverless.md §7.4), the
 * fault table of spec/serverless-platforms.md §5, packages, keep-alive,
 * `result: false`, 413, secrets at rest and fngate's `pass_request`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, waitFor } from '../helpers/net.js';
import { GUEST, apisixCiFixture, startWhiskDouble, type WhiskDouble } from '../doubles/openwhisk.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** spec/serverless.md §7.4 test 2: the guest token under the default keyring. */
const GUEST_TOKEN_CIPHERTEXT = 'pe14btxogtzJ4qPM/W2qj0AQeUK/O5oegLkKJLkkSEsKUIjP+bgyO+qsTXuLrY/h/esLKrRulD2TOtf+Zt/Us+hxZ/svsMwXZqZ9T9/2wWyi8SKALLfTUZDiV69mxCwD2zNBze1jslMlPtdA9JFIOQ==';

describe('openwhisk through the gateway', () => {
  let gw: GatewayProcess;
  let whisk: WhiskDouble;
  let routeCount = 0;

  before(async () => {
    const ci = apisixCiFixture();
    [gw, whisk] = await Promise.all([
      startGatewayProcess(),
      startWhiskDouble({
        keys: ci.keys,
        actions: {
          ...ci.actions,
          'guest/boom': () => ({ error: 'boom' }),
          'guest/web': (params) => ({ body: params }),
        },
      }),
    ]);
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await whisk.close();
  });

  /** The plugin's configuration for `action`, pointing at the double. */
  const ow = (action: string, extra: Record<string, unknown> = {}) => ({
    api_host: whisk.url, service_token: GUEST.token, namespace: 'guest', action, ...extra,
  });

  async function send(path: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const res = await request(`${gw.proxyUrl}${path}`, { method: (options.method ?? 'GET') as 'GET', headers: options.headers, body: options.body });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  /**
   * PUT a route whose only plugin is openwhisk (no upstream: the plugin
   * always answers) and wait until the data plane serves it, i.e. stops
   * answering with the gateway's own "404 Route Not Found".
   */
  async function route(conf: Record<string, unknown>, uri?: string): Promise<string> {
    const id = `ow-${++routeCount}`;
    const path = uri ?? `/${id}`;
    const res = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, { uri: path, plugins: { openwhisk: conf } });
    assert.equal(res.status, 201, res.text);
    const probe = path.replace(/\*$/, 'probe');
    await waitFor(async () => !(await send(probe)).text.includes('Route Not Found'), { what: `route ${path}` });
    return path;
  }

  describe('APISIX t/plugin/openwhisk.t (spec §7.4)', () => {
    test('1. schema: a minimal configuration; api_host required and a string', async () => {
      const ok = await adminRequest(gw, 'PUT', '/apisix/admin/routes/schema-ok', { uri: '/schema', plugins: { openwhisk: ow('test') } });
      assert.equal(ok.status, 201, ok.text);
      const { api_host: _, ...noHost } = ow('test');
      const missing = await adminRequest(gw, 'PUT', '/apisix/admin/routes/schema-bad', { uri: '/schema', plugins: { openwhisk: noHost } });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.json, { error_msg: 'failed to check the configuration of plugin openwhisk err: property "api_host" is required' });
      const numeric = await adminRequest(gw, 'PUT', '/apisix/admin/routes/schema-bad', { uri: '/schema', plugins: { openwhisk: { ...ow('test'), api_host: 3233 } } });
      assert.equal(numeric.status, 400);
      assert.deepEqual(numeric.json, { error_msg: 'failed to check the configuration of plugin openwhisk err: property "api_host" validation failed: wrong type: expected string, got number' });
    });

    test('2. service_token is encrypted at rest: the write answer shows the ciphertext, GET the token', async () => {
      const put = await adminRequest(gw, 'PUT', '/apisix/admin/routes/secret', {
        uri: '/secret',
        plugins: { openwhisk: { api_host: 'http://127.0.0.1:3233', service_token: GUEST.token, namespace: 'guest', action: 'test' } },
      });
      assert.equal(put.status, 201, put.text);
      assert.equal((put.json as { value: { plugins: { openwhisk: { service_token: string } } } }).value.plugins.openwhisk.service_token, GUEST_TOKEN_CIPHERTEXT);
      const get = await adminRequest(gw, 'GET', '/apisix/admin/routes/secret');
      assert.equal((get.json as { value: { plugins: { openwhisk: { service_token: string } } } }).value.plugins.openwhisk.service_token, GUEST.token);
    });

    test('3. GET: the action result verbatim, no newline; OpenWhisk\'s own headers not relayed', async () => {
      const uri = await route(ow('test'));
      const answer = await send(uri);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, '{"hello":"test"}');
      assert.equal(answer.headers['x-openwhisk-activation-id'], undefined);
      assert.equal(answer.headers['access-control-allow-origin'], undefined);
      assert.match(String(answer.headers['content-type']), /^text\/plain/);
    });

    test('4. a form body: OpenWhisk\'s 400 "malformed" passed through', async () => {
      const uri = await route(ow('test-params'));
      const answer = await send(uri, { method: 'POST', body: 'test=test', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(answer.status, 400);
      assert.match(answer.text, /"error":"The request content was malformed/);
    });

    test('5. a JSON body becomes the parameters', async () => {
      const uri = await route(ow('test-params'));
      const answer = await send(uri, { method: 'POST', body: '{"name": "world"}', headers: { 'content-type': 'application/json' } });
      assert.equal(answer.status, 200);
      assert.equal(answer.text, '{"hello":"world"}');
    });

    test('6. an unknown action: OpenWhisk\'s 404 passed through', async () => {
      const uri = await route(ow('non-existent'));
      const answer = await send(uri, { method: 'POST' });
      assert.equal(answer.status, 404);
      assert.match(answer.text, /"error":"The requested resource does not exist."/);
    });

    test('7. an unreachable api_host: 503 and the log line', async () => {
      const uri = await route(ow('test', { api_host: `http://127.0.0.1:${await freePort()}` }));
      const answer = await send(uri, { method: 'POST' });
      assert.equal(answer.status, 503);
      assert.match(answer.text, /503 Service Temporarily Unavailable/);
      await waitFor(() => gw.output().includes('failed to process openwhisk action, err: connection refused'), { what: 'the failure log line' });
    });

    test('8. an action in a package', async () => {
      const uri = await route(ow('testpkg', { package: 'pkg' }));
      const answer = await send(uri);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, '{"hello":"world"}');
      assert.equal(whisk.lastRequest()?.url.split('?')[0], '/api/v1/namespaces/guest/actions/pkg/testpkg');
    });

    test('9. statusCode in the result sets the status; the body is OpenWhisk\'s raw text', async () => {
      const uri = await route(ow('test-statuscode'));
      const answer = await send(uri);
      assert.equal(answer.status, 407);
      assert.equal(answer.text, '{"statusCode":407}');
    });

    test('10. headers in the result become response headers', async () => {
      const uri = await route(ow('test-headers'));
      const answer = await send(uri);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.test, 'header');
    });

    test('11. an object body in the result is sent as JSON plus a newline', async () => {
      const uri = await route(ow('test-body'));
      const answer = await send(uri);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, '{"test":"body"}\n');
    });
  });

  describe('what the gateway sends (spec §7.2)', () => {
    test('POST with blocking, result and timeout; Basic credentials; JSON type; no client headers or query', async () => {
      const uri = await route(ow('test-params', { timeout: 2500 }));
      whisk.clearRequests();
      await send(`${uri}?debug=1`, { method: 'PUT', body: '{"name":"x"}', headers: { 'x-client': 'c', 'content-type': 'text/plain' } });
      const sent = whisk.lastRequest();
      assert.ok(sent);
      assert.equal(sent.method, 'POST');
      assert.equal(sent.url, '/api/v1/namespaces/guest/actions/test-params?blocking=true&result=true&timeout=2500');
      assert.equal(sent.headers.authorization, `Basic ${Buffer.from(GUEST.token).toString('base64')}`);
      assert.equal(sent.headers['content-type'], 'application/json');
      assert.equal(sent.headers.host, `127.0.0.1:${whisk.port}`);
      assert.equal(sent.headers['x-client'], undefined);
      assert.equal(sent.body.toString(), '{"name":"x"}');
    });
  });

  describe('faults (spec/serverless-platforms.md §5)', () => {
    test('a 202 answered well before the timeout is relayed', async () => {
      const uri = await route(ow('accepted'));
      whisk.setFault('guest/accepted', { status: 202, body: '{"activationId":"68d2faca4544ca4034c17ef8619e012b"}' });
      const answer = await send(uri);
      assert.equal(answer.status, 202);
      assert.equal(answer.text, '{"activationId":"68d2faca4544ca4034c17ef8619e012b"}');
    });

    test('401 (wrong token) and 502 (application error) bodies are relayed', async () => {
      const denied = await send(await route(ow('test', { service_token: `${GUEST.uuid}:wrong` })));
      assert.equal(denied.status, 401);
      assert.match(denied.text, /^\{"error":"The supplied authentication is invalid","code":"[A-Za-z0-9]{32}"\}$/);
      const failed = await send(await route(ow('boom')));
      assert.equal(failed.status, 502);
      assert.equal(failed.text, '{"error":"boom"}');
    });

    test('text that is not JSON: 503', async () => {
      const uri = await route(ow('garbled'));
      whisk.setFault('guest/garbled', { status: 200, body: '<html>oops</html>', headers: { 'content-type': 'text/html' } });
      assert.equal((await send(uri)).status, 503);
      await waitFor(() => gw.output().includes('failed to parse openwhisk response data'), { what: 'the parse failure log line' });
    });

    test('a hang: 503 after the timeout', async () => {
      const uri = await route(ow('stuck', { timeout: 300 }));
      whisk.setFault('guest/stuck', { socket: 'hang' });
      const started = Date.now();
      const answer = await send(uri);
      const elapsed = Date.now() - started;
      assert.equal(answer.status, 503);
      assert.ok(elapsed >= 280 && elapsed < 2000, `503 after ${elapsed} ms`);
      await waitFor(() => gw.output().includes('failed to process openwhisk action, err: timeout'), { what: 'the timeout log line' });
    });
  });

  describe('beyond the APISIX tests', () => {
    test('result: false returns the activation record', async () => {
      const uri = await route(ow('test', { result: false }));
      const answer = await send(uri);
      assert.equal(answer.status, 200);
      const record = JSON.parse(answer.text) as { name: string; response: { result: unknown; status: string } };
      assert.equal(record.name, 'test');
      assert.deepEqual(record.response.result, { hello: 'test' });
      assert.equal(record.response.status, 'success');
    });

    test('a body over max_req_body_size: 413, nothing sent', async () => {
      const uri = await route(ow('test-params', { max_req_body_size: 16 }));
      whisk.clearRequests();
      const answer = await send(uri, { method: 'POST', body: JSON.stringify({ name: 'x'.repeat(32) }) });
      assert.equal(answer.status, 413);
      assert.match(answer.text, /413 Request Entity Too Large/);
      assert.equal(whisk.requests.length, 0);
    });

    test('keep-alive: sequential calls reach OpenWhisk over one connection', async () => {
      const own = await startWhiskDouble({ ...apisixCiFixture() });
      try {
        const uri = await route(ow('test', { api_host: own.url }));
        const before = own.connections();
        for (let i = 0; i < 5; i++) assert.equal((await send(uri)).text, '{"hello":"test"}');
        assert.ok(own.connections() - before <= 1, `${own.connections() - before} new connections for 5 calls`);
        assert.equal(new Set(own.requests.map((r) => r.connection)).size, 1);
      } finally {
        await own.close();
      }
    });

    test('pass_request: the action sees method, path, query and headers as a web action would', async () => {
      const uri = await route(ow('web', { pass_request: true }), '/web/*');
      const answer = await send('/web/orders/7?expand=items&x=%2F', {
        method: 'POST',
        body: '{"qty":2}',
        headers: { 'content-type': 'application/json', 'x-user': 'alice' },
      });
      assert.equal(answer.status, 200, answer.text);
      assert.ok(uri.startsWith('/web/'));
      const params = JSON.parse(answer.text) as Record<string, unknown>;
      assert.equal(params.qty, 2);
      assert.equal(params.__ow_method, 'post');
      assert.equal(params.__ow_path, '/web/orders/7');
      assert.equal(params.__ow_query, 'expand=items&x=%2F');
      assert.equal((params.__ow_headers as Record<string, string>)['x-user'], 'alice');
      assert.equal(params.__ow_body, undefined);
    });
  });
});
