/**
 * openwhisk's schema, outgoing request and response mapping on real request
 * contexts, calling fake-whisk on loopback (test/doubles/openwhisk.ts):
 * exactly what is sent (spec/serverless.md §7.2), how results become
 * responses (§7.3), failures, keep-alive, and the `pass_request` opt-in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { PluginHarness, type HarnessRequest } from '../../test/helpers/plugin-harness.js';
import { freePort } from '../../test/helpers/net.js';
import { GUEST, apisixCiFixture, startWhiskDouble, type WhiskDouble } from '../../test/doubles/openwhisk.js';
import { selfSignedCert } from '../../test/doubles/self-signed-cert.js';
import { GatewayContext } from '../plugin/context.js';
import { createFieldCipher } from '../plugin/encryption.js';
import { closeFunctionConnections } from './faas/index.js';
import openwhisk, { OPENWHISK_PRIORITY, resultVerdict } from './openwhisk.js';

const h = new PluginHarness(openwhisk);

/** spec/serverless.md §7.4 test 2: the guest token under the default keyring. */
const GUEST_TOKEN_CIPHERTEXT = 'pe14btxogtzJ4qPM/W2qj0AQeUK/O5oegLkKJLkkSEsKUIjP+bgyO+qsTXuLrY/h/esLKrRulD2TOtf+Zt/Us+hxZ/svsMwXZqZ9T9/2wWyi8SKALLfTUZDiV69mxCwD2zNBze1jslMlPtdA9JFIOQ==';

interface ClientRequest extends HarnessRequest {
  readonly body?: string | Buffer;
}

/** A client request whose body (if any) is readable by the plugin. */
function clientRequest(target: string, options: ClientRequest = {}): GatewayContext {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers = { ...options.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) };
  const ctx = h.request(target, { ...options, headers });
  const req = GatewayContext.coreOf(ctx).req;
  if (body !== undefined) req.push(body);
  req.push(null);
  return ctx;
}

async function access(conf: Record<string, unknown>, target = '/hello', options: ClientRequest = {}): Promise<unknown> {
  return h.run('access', h.conf(conf), clientRequest(target, options));
}

/** A FunctionResponse as the client layer hands it over. */
function answer(status: number, body: string, headers: IncomingHttpHeaders = {}) {
  return { status, headers, body: Buffer.from(body) };
}

const mapped = (status: number, body: string) => resultVerdict(answer(status, body), h.request('/'));

describe('openwhisk: schema', () => {
  const minimal = { api_host: 'http://127.0.0.1:3233', service_token: GUEST.token, namespace: 'guest', action: 'test' };

  test('a minimal configuration gets APISIX\'s defaults (timeout 3000, result true) and pass_request off', () => {
    const conf = h.conf({ ...minimal });
    assert.deepEqual(
      [conf.result, conf.timeout, conf.ssl_verify, conf.keepalive, conf.keepalive_timeout, conf.keepalive_pool, conf.max_req_body_size, conf.pass_request],
      [true, 3000, true, true, 60000, 5, 67108864, false],
    );
  });

  test('required attributes and types, with APISIX\'s messages', () => {
    const { api_host: _, ...noHost } = minimal;
    assert.match(h.check(noHost) ?? '', /property "api_host" is required$/);
    assert.match(h.check({ ...minimal, api_host: 3233 }) ?? '', /property "api_host" validation failed: wrong type: expected string, got number$/);
    for (const name of ['service_token', 'namespace', 'action'] as const) {
      const conf: Record<string, unknown> = { ...minimal };
      delete conf[name];
      assert.match(h.check(conf) ?? '', new RegExp(`property "${name}" is required$`));
    }
  });

  test('namespace, package and action follow OpenWhisk\'s name rule, 256 characters at most', () => {
    for (const good of ['a', 'guest', 'my action', 'user@example.com', 'v1.0-beta_2', 'a@', 'x.']) {
      assert.equal(h.check({ ...minimal, action: good, package: good, namespace: good }), undefined, good);
    }
    for (const bad of ['', '-a', 'a ', ' a', 'a/b', 'a$', 'a\n', 'ä']) {
      assert.match(h.check({ ...minimal, action: bad }) ?? '', /property "action" validation failed/, JSON.stringify(bad));
    }
    assert.match(h.check({ ...minimal, package: 'p/q' }) ?? '', /property "package" validation failed/);
    assert.match(h.check({ ...minimal, namespace: 'n s!' }) ?? '', /property "namespace" validation failed/);
    assert.equal(h.check({ ...minimal, action: 'a'.repeat(256) }), undefined);
    assert.match(h.check({ ...minimal, action: 'a'.repeat(257) }) ?? '', /property "action" validation failed: string too long/);
  });

  test('ranges: timeout 1..60000, keepalive_timeout ≥ 1000, keepalive_pool ≥ 1, max_req_body_size ≥ 1', () => {
    assert.equal(h.check({ ...minimal, timeout: 1 }), undefined);
    assert.equal(h.check({ ...minimal, timeout: 60000 }), undefined);
    assert.match(h.check({ ...minimal, timeout: 0 }) ?? '', /property "timeout" validation failed/);
    assert.match(h.check({ ...minimal, timeout: 60001 }) ?? '', /property "timeout" validation failed/);
    assert.match(h.check({ ...minimal, keepalive_timeout: 999 }) ?? '', /property "keepalive_timeout" validation failed/);
    assert.match(h.check({ ...minimal, keepalive_pool: 0 }) ?? '', /property "keepalive_pool" validation failed/);
    assert.match(h.check({ ...minimal, max_req_body_size: 0 }) ?? '', /property "max_req_body_size" validation failed/);
    assert.match(h.check({ ...minimal, pass_request: 'yes' }) ?? '', /property "pass_request" validation failed/);
  });

  test('priority -1901, service_token encrypted at rest (the spec\'s vector under the default keyring)', () => {
    assert.equal(openwhisk.priority, OPENWHISK_PRIORITY);
    assert.equal(OPENWHISK_PRIORITY, -1901);
    assert.deepEqual(openwhisk.encryptFields, ['service_token']);
    assert.equal(createFieldCipher(['qeddd145sfvddff3']).encrypt(GUEST.token), GUEST_TOKEN_CIPHERTEXT);
  });
});

describe('openwhisk: calls', () => {
  let whisk: WhiskDouble;
  let conf: (extra?: Record<string, unknown>) => Record<string, unknown>;

  before(async () => {
    const ci = apisixCiFixture();
    whisk = await startWhiskDouble({
      keys: ci.keys,
      actions: {
        ...ci.actions,
        'guest/echo': (params) => ({ body: params }),
        'guest/my action': () => ({ spaced: true }),
        'guest/p k g/deep': () => ({ deep: true }),
      },
    });
    conf = (extra = {}) => ({ api_host: whisk.url, service_token: GUEST.token, namespace: 'guest', action: 'test', ...extra });
  });
  after(async () => {
    await closeFunctionConnections();
    await whisk.close();
  });

  describe('the outgoing request (§7.2)', () => {
    test('POST to the action with blocking, result and timeout; only the plugin\'s headers; the raw client body', async () => {
      whisk.clearRequests();
      const verdict = await access(conf({ action: 'test-params', timeout: 2500 }), '/hello/x?debug=1', {
        method: 'PUT',
        headers: { 'content-type': 'text/plain', 'x-client': 'secret', cookie: 'c=1' },
        body: '{"name":"world"}',
      });
      assert.deepEqual(verdict, [200, Buffer.from('{"hello":"world"}'), undefined]);
      const sent = whisk.lastRequest();
      assert.ok(sent);
      assert.equal(sent.method, 'POST');
      assert.equal(sent.url, '/api/v1/namespaces/guest/actions/test-params?blocking=true&result=true&timeout=2500');
      assert.deepEqual(Object.keys(sent.headers).sort(), ['authorization', 'connection', 'content-length', 'content-type', 'host', 'user-agent']);
      assert.equal(sent.headers.authorization, `Basic ${Buffer.from(GUEST.token).toString('base64')}`);
      assert.equal(sent.headers['content-type'], 'application/json');
      assert.equal(sent.headers.host, `127.0.0.1:${whisk.port}`, 'the port is kept when it is not the default');
      assert.match(sent.headers['user-agent'] ?? '', /^fngate\//);
      assert.equal(sent.body.toString(), '{"name":"world"}');
    });

    test('no client body: Content-Length 0 and OpenWhisk reads it as {}', async () => {
      whisk.clearRequests();
      assert.deepEqual(await access(conf({ action: 'test-params' })), [200, Buffer.from('{"hello":"test"}'), undefined]);
      assert.equal(whisk.lastRequest()?.headers['content-length'], '0');
      assert.equal(whisk.lastRequest()?.body.length, 0);
    });

    test('a non-JSON body is sent as is and OpenWhisk\'s 400 relayed', async () => {
      const verdict = await access(conf({ action: 'test-params' }), '/hello', { method: 'POST', body: 'test=test', headers: { 'content-type': 'application/x-www-form-urlencoded' } }) as [number, Buffer];
      assert.equal(verdict[0], 400);
      assert.match(verdict[1].toString(), /^\{"error":"The request content was malformed/);
      assert.equal(whisk.lastRequest()?.body.toString(), 'test=test');
    });

    test('result: false asks for the activation record', async () => {
      const verdict = await access(conf({ result: false })) as [number, Buffer];
      assert.equal(whisk.lastRequest()?.url, '/api/v1/namespaces/guest/actions/test?blocking=true&result=false&timeout=3000');
      const record = JSON.parse(verdict[1].toString()) as { activationId: string; response: { result: unknown } };
      assert.equal(verdict[0], 200);
      assert.match(record.activationId, /^[0-9a-f]{32}$/);
      assert.deepEqual(record.response.result, { hello: 'test' });
    });

    test('packages, and names with spaces percent-encoded', async () => {
      assert.deepEqual(await access(conf({ package: 'pkg', action: 'testpkg' })), [200, Buffer.from('{"hello":"world"}'), undefined]);
      assert.equal(whisk.lastRequest()?.url.split('?')[0], '/api/v1/namespaces/guest/actions/pkg/testpkg');
      assert.deepEqual(await access(conf({ action: 'my action' })), [200, Buffer.from('{"spaced":true}'), undefined]);
      assert.equal(whisk.lastRequest()?.url.split('?')[0], '/api/v1/namespaces/guest/actions/my%20action');
      assert.deepEqual(await access(conf({ package: 'p k g', action: 'deep' })), [200, Buffer.from('{"deep":true}'), undefined]);
    });

    test('api_host may carry a path prefix and a trailing slash', async () => {
      whisk.setFault('*', { status: 200, body: '{}' });
      try {
        await access(conf({ api_host: `${whisk.url}/` }));
        assert.equal(whisk.lastRequest()?.url.split('?')[0], '/api/v1/namespaces/guest/actions/test');
        await access(conf({ api_host: `${whisk.url}/openwhisk/` }));
        assert.equal(whisk.lastRequest()?.url.split('?')[0], '/openwhisk/api/v1/namespaces/guest/actions/test');
      } finally {
        whisk.setFault('*', undefined);
      }
    });
  });

  describe('failures', () => {
    test('a body over max_req_body_size is 413 and nothing is sent', async () => {
      whisk.clearRequests();
      assert.equal(await access(conf({ max_req_body_size: 8 }), '/hello', { method: 'POST', body: '{"name":"too long"}' }), 413);
      assert.equal(whisk.requests.length, 0);
      assert.deepEqual(await access(conf({ max_req_body_size: 19, action: 'test-params' }), '/hello', { method: 'POST', body: '{"name":"at limit"}' }), [200, Buffer.from('{"hello":"at limit"}'), undefined]);
    });

    test('refused connection, unusable api_host: 503', async () => {
      assert.equal(await access(conf({ api_host: `http://127.0.0.1:${await freePort()}` })), 503);
      assert.equal(await access(conf({ api_host: '127.0.0.1:3233' })), 503);
      assert.equal(await access(conf({ api_host: 'ftp://127.0.0.1:3233' })), 503);
    });

    test('no answer within timeout: 503 after about timeout ms', async () => {
      whisk.setFault('guest/test', { socket: 'hang' });
      try {
        const started = Date.now();
        assert.equal(await access(conf({ timeout: 150 })), 503);
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 140 && elapsed < 1500, `503 after ${elapsed} ms`);
      } finally {
        whisk.setFault('guest/test', undefined);
      }
    });

    test('text that is not JSON, or no body: 503; a closed socket: 503', async () => {
      for (const fault of [{ status: 200, body: 'not json' }, { status: 200, body: '' }, { socket: 'close' as const }]) {
        whisk.setFault('guest/test', fault);
        try {
          assert.equal(await access(conf()), 503, JSON.stringify(fault));
        } finally {
          whisk.setFault('guest/test', undefined);
        }
      }
    });
  });

  describe('TLS', () => {
    test('ssl_verify: an untrusted certificate is 503 unless verification is off', async () => {
      const secure = await startWhiskDouble({ ...apisixCiFixture(), tls: selfSignedCert() });
      try {
        assert.ok(secure.url.startsWith('https://'));
        assert.equal(await access(conf({ api_host: secure.url })), 503);
        assert.equal(secure.requests.length, 0);
        assert.deepEqual(await access(conf({ api_host: secure.url, ssl_verify: false })), [200, Buffer.from('{"hello":"test"}'), undefined]);
        assert.equal(secure.lastRequest()?.headers.host, `127.0.0.1:${secure.port}`);
      } finally {
        await secure.close();
      }
    });
  });

  describe('keep-alive', () => {
    test('sequential calls share one connection; keepalive: false opens one per call', async () => {
      const port = await freePort();
      const own = await startWhiskDouble({ ...apisixCiFixture(), port });
      try {
        for (let i = 0; i < 4; i++) assert.equal(((await access(conf({ api_host: own.url }))) as [number])[0], 200);
        assert.equal(own.connections(), 1);
        for (let i = 0; i < 3; i++) assert.equal(((await access(conf({ api_host: own.url, keepalive: false }))) as [number])[0], 200);
        assert.equal(own.connections(), 4);
        assert.equal(own.lastRequest()?.headers.connection, 'close');
      } finally {
        await own.close();
      }
    });
  });
});

describe('openwhisk: response mapping (§7.3)', () => {
  test('a result without statusCode, headers or body: OpenWhisk\'s status and raw text', () => {
    assert.deepEqual(mapped(200, '{"hello":"test"}'), [200, Buffer.from('{"hello":"test"}'), undefined]);
    assert.deepEqual(mapped(404, '{"error":"The requested resource does not exist.","code":"x"}'), [404, Buffer.from('{"error":"The requested resource does not exist.","code":"x"}'), undefined]);
    assert.deepEqual(mapped(202, '{"activationId":"abc"}'), [202, Buffer.from('{"activationId":"abc"}'), undefined]);
  });

  test('statusCode replaces the status, the raw text stays the body', () => {
    assert.deepEqual(mapped(200, '{"statusCode":407}'), [407, Buffer.from('{"statusCode":407}'), undefined]);
    assert.equal((mapped(200, '{"statusCode":"404"}') as [number])[0], 404, 'a numeric string');
    for (const bad of ['99', '600', '"abc"', '4.5', 'true']) assert.equal(mapped(200, `{"statusCode":${bad}}`), 500, bad);
  });

  test('body: an object as JSON (the runner adds the newline), a string as is, falsy values leave the raw text', () => {
    assert.deepEqual(mapped(200, '{"body":{"test":"body"}}'), [200, { test: 'body' }, undefined]);
    assert.deepEqual(mapped(200, '{"body":[1,2]}'), [200, [1, 2], undefined]);
    assert.deepEqual(mapped(200, '{"body":"<p>hi</p>"}'), [200, '<p>hi</p>', undefined]);
    assert.deepEqual(mapped(200, '{"body":""}'), [200, '', undefined]);
    assert.deepEqual(mapped(200, '{"body":42}'), [200, '42', undefined]);
    assert.deepEqual(mapped(200, '{"body":null}'), [200, Buffer.from('{"body":null}'), undefined]);
    assert.deepEqual(mapped(200, '{"body":false}'), [200, Buffer.from('{"body":false}'), undefined]);
  });

  test('headers: scalars as text, arrays as repeated fields; unusable and gateway-framed fields dropped', () => {
    const verdict = mapped(200, JSON.stringify({
      statusCode: 201,
      headers: {
        Test: 'header', 'X-Count': 3, 'X-Flag': true, 'Set-Cookie': ['a=1', 'b=2'],
        'X-Object': { no: 1 }, 'X-Null': null, 'Bad Name': 'x', 'X-Bad-Value': 'a\nb',
        'Content-Length': '999', 'Transfer-Encoding': 'chunked', Connection: 'close', Server: 'whisk',
      },
      body: 'created',
    }));
    assert.deepEqual(verdict, [201, 'created', { test: 'header', 'x-count': '3', 'x-flag': 'true', 'set-cookie': ['a=1', 'b=2'] }]);
  });

  test('OpenWhisk\'s own response headers are not relayed', () => {
    const verdict = resultVerdict(answer(200, '{"a":1}', { 'x-openwhisk-activation-id': 'abc', 'content-type': 'application/json' }), h.request('/'));
    assert.deepEqual(verdict, [200, Buffer.from('{"a":1}'), undefined]);
  });

  test('JSON that is not an object passes through; not JSON is 503; 204 and 304 relay their status', () => {
    assert.deepEqual(mapped(200, '[1,2,3]'), [200, Buffer.from('[1,2,3]')]);
    assert.deepEqual(mapped(200, '"text"'), [200, Buffer.from('"text"')]);
    assert.equal(mapped(200, 'not json'), 503);
    assert.equal(mapped(200, ''), 503);
    assert.equal(mapped(502, '<html>bad gateway</html>'), 503);
    assert.equal(mapped(204, ''), 204);
    assert.equal(mapped(304, ''), 304);
  });
});

describe('openwhisk: pass_request (fngate)', () => {
  let whisk: WhiskDouble;
  const calls: Record<string, unknown>[] = [];
  /** The parameters the action received last. */
  const seen = () => calls[calls.length - 1];

  before(async () => {
    whisk = await startWhiskDouble({
      keys: apisixCiFixture().keys,
      actions: {
        'guest/web': (params) => {
          calls.push(params);
          return { ok: true };
        },
      },
    });
  });
  after(async () => {
    await closeFunctionConnections();
    await whisk.close();
  });

  const run = (target: string, options: ClientRequest) =>
    access({ api_host: whisk.url, service_token: GUEST.token, namespace: 'guest', action: 'web', pass_request: true }, target, options);

  test('a JSON object body gets __ow_method, __ow_path, __ow_query and __ow_headers merged in', async () => {
    await run('/orders/42?x=1&y=%20z&flag', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'X-User': 'alice', Accept: 'text/html' },
      body: '{"name":"world","__ow_method":"spoofed","__ow_body":"spoofed"}',
    });
    const params = seen();
    assert.ok(params);
    assert.equal(params.name, 'world');
    assert.equal(params.__ow_method, 'patch');
    assert.equal(params.__ow_path, '/orders/42');
    assert.equal(params.__ow_query, 'x=1&y=%20z&flag');
    assert.equal(params.__ow_body, undefined, 'a JSON object is not also sent raw');
    const headers = params.__ow_headers as Record<string, string>;
    assert.equal(headers['x-user'], 'alice');
    assert.equal(headers.accept, 'text/html');
    assert.equal(headers['content-type'], 'application/json');
  });

  test('no body: only the __ow_* parameters; no query: an empty __ow_query', async () => {
    calls.length = 0;
    await run('/plain', { method: 'GET' });
    assert.deepEqual(Object.keys(seen() ?? {}).sort(), ['__ow_headers', '__ow_method', '__ow_path', '__ow_query']);
    assert.equal(seen()?.__ow_query, '');
    assert.equal(seen()?.__ow_method, 'get');
  });

  test('a body that is not a JSON object arrives as __ow_body: text for textual types, base64 otherwise', async () => {
    await run('/form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
    assert.equal(seen()?.__ow_body, 'a=1&b=2');
    await run('/list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    assert.equal(seen()?.__ow_body, '[1,2]');
    await run('/xml', { method: 'POST', headers: { 'content-type': 'application/atom+xml; charset=utf-8' }, body: '<a/>' });
    assert.equal(seen()?.__ow_body, '<a/>');
    const bytes = Buffer.from([0, 1, 2, 255]);
    await run('/bin', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    assert.equal(seen()?.__ow_body, bytes.toString('base64'));
    await run('/none', { method: 'POST', body: 'plain' });
    assert.equal(seen()?.__ow_body, Buffer.from('plain').toString('base64'), 'no content type: binary');
  });
});
