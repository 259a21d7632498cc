/**
 * openfunction and azure-functions through the real gateway, against the
 * platform doubles (and the real functions-framework runtime): the cases
 * of APISIX's t/plugin/{openfunction,azure-functions}.t plus the shared
 * engine's attributes, failures and connection handling
 * (spec/serverless.md §3–§5, spec/serverless-platforms.md §0, §2, §3, §5).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startHttpDouble, type HttpDouble } from '../doubles/http-double.js';
import { startAzureFunctionsDouble } from '../doubles/azure-functions.js';
import { startFrameworkFunction, startOpenFunctionDouble, type CiFunction, type FrameworkFunction } from '../doubles/openfunction.js';
import { selfSignedCert } from '../doubles/self-signed-cert.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

describe('openfunction and azure-functions through the gateway', () => {
  let gw: GatewayProcess;
  let dir: string;
  const of = {} as Record<CiFunction, HttpDouble>;
  const ff = {} as Record<CiFunction, FrameworkFunction>;
  let azure: HttpDouble;
  /** Echoes what it received as JSON; sends odd response headers. */
  let echo: HttpDouble;
  /** HTTPS with a certificate the gateway trusts (NODE_EXTRA_CA_CERTS), and one it does not. */
  let trustedTls: HttpDouble;
  let untrustedTls: HttpDouble;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fngate-faas-'));
    const trusted = selfSignedCert();
    writeFileSync(join(dir, 'trusted-ca.pem'), trusted.cert);
    for (const name of ['test-header', 'test-uri', 'test-body'] as const) {
      of[name] = await startOpenFunctionDouble(name);
      ff[name] = await startFrameworkFunction(name);
    }
    azure = await startAzureFunctionsDouble({
      masterKey: 'master-key',
      hostKeys: { default: 'metadata_key' },
      functions: {
        // The function of t/plugin/azure-functions.t: body, Content-Length 13, X-Extra-Header.
        httptrigger: { route: '{*rest}', keys: { default: 'test_key' }, handler: () => ({ headers: { 'X-Extra-Header': 'MUST' }, body: 'faas invoked\n' }) },
      },
    });
    echo = await startHttpDouble((r) => ({
      status: r.path.endsWith('/teapot') ? 418 : 200,
      headers: [
        ['Content-Type', 'application/json'],
        ['Connection', 'keep-alive, X-Private'],
        ['Keep-Alive', 'timeout=99'],
        ['Upgrade', 'h2c'],
        ['Proxy-Connection', 'keep-alive'],
        ['X-Private', 'hop'],
        ['Server', 'function-host'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ],
      body: JSON.stringify({ method: r.method, target: r.target, headers: r.headers, body: r.body.toString() }),
    }));
    trustedTls = await startHttpDouble(() => ({ status: 200, body: 'trusted tls' }), { tls: trusted });
    untrustedTls = await startHttpDouble(() => ({ status: 200, body: 'untrusted tls' }), { tls: selfSignedCert() });
    gw = await startGatewayProcess({ dir, env: { NODE_EXTRA_CA_CERTS: join(dir, 'trusted-ca.pem') } });
  });

  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([...Object.values(of), ...Object.values(ff), azure, echo, trustedTls, untrustedTls].map((d) => d.close()));
  });

  async function admin(method: string, path: string, body: unknown, expected: number) {
    const res = await adminRequest(gw, method, path, body);
    assert.equal(res.status, expected, `${method} ${path}: ${res.text}`);
    return res.json as { value: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary shapes
  }

  /** A route answered by a FaaS plugin: no upstream needed. */
  function route(id: string, uri: string, plugins: Record<string, unknown>) {
    return admin('PUT', `/apisix/admin/routes/${id}`, { uri, plugins }, 201);
  }

  async function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const res = await request(`${gw.proxyUrl}${path}`, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  /** Call until `ok` holds: configuration reaches the workers asynchronously. */
  async function callUntil(path: string, ok: (a: Answer) => boolean, options: Parameters<typeof call>[1] = {}): Promise<Answer> {
    let last: Answer | undefined;
    await waitFor(async () => {
      last = await call(path, options);
      return ok(last);
    }, { what: `${options.method ?? 'GET'} ${path} (last: ${last?.status} ${last?.text.slice(0, 200)})` });
    return last as Answer;
  }

  /** PUT a route, then wait until it answers from the FaaS plugin (not 404). */
  async function routeReady(id: string, uri: string, plugins: Record<string, unknown>, probe: string, options: Parameters<typeof call>[1] = {}): Promise<Answer> {
    await route(id, uri, plugins);
    return callUntil(probe, (a) => a.status !== 404 || !a.text.includes('Route Not Found'), options);
  }

  const echoed = (a: Answer) => JSON.parse(a.text) as { method: string; target: string; headers: Record<string, string>; body: string };

  describe('openfunction (t/plugin/openfunction.t) on the Go-style double and on functions-framework', () => {
    for (const runtime of ['double', 'functions-framework'] as const) {
      const origin = (name: CiFunction) => (runtime === 'double' ? of[name].origin : ff[name].origin);
      const id = (n: string) => `of-${runtime}-${n}`;

      test(`${runtime}: GET → the function at /function-sample`, async () => {
        const a = await routeReady(id('get'), `/of-${runtime}/hello`, { openfunction: { function_uri: `${origin('test-uri')}/function-sample` } }, `/of-${runtime}/hello`);
        assert.equal(a.status, 200);
        assert.equal(a.text, 'Hello, function-sample!\n');
        assert.match(String(a.headers['content-type']), /^text\/plain/);
      });

      test(`${runtime}: POST body "test" → "Hello, test!"`, async () => {
        const a = await routeReady(id('body'), `/of-${runtime}/body`, { openfunction: { function_uri: `${origin('test-body')}/default/test-body` } }, `/of-${runtime}/body`, { method: 'POST', body: 'test' });
        assert.equal(a.text, 'Hello, test!\n');
      });

      test(`${runtime}: service_token → Basic credentials, overriding the client's Authorization`, async () => {
        const plugins = { openfunction: { function_uri: `${origin('test-header')}/`, authorization: { service_token: 'test:test' } } };
        const a = await routeReady(id('token'), `/of-${runtime}/token`, plugins, `/of-${runtime}/token`, { headers: { authorization: 'user-token-xxx' } });
        assert.equal(a.text, '[Basic dGVzdDp0ZXN0]');
      });

      test(`${runtime}: without a token the client's Authorization passes through`, async () => {
        const a = await routeReady(id('pass'), `/of-${runtime}/pass`, { openfunction: { function_uri: `${origin('test-header')}/` } }, `/of-${runtime}/pass`, { headers: { authorization: 'user-token-xxx' } });
        assert.equal(a.text, '[user-token-xxx]');
      });

      test(`${runtime}: a non-existent function path → the function's 404 passed through`, async () => {
        const a = await routeReady(id('404'), `/of-${runtime}/missing`, { openfunction: { function_uri: `${origin('test-uri')}/default/non-existent` } }, `/of-${runtime}/missing`);
        assert.equal(a.status, 404);
        assert.match(a.text, /not found/);
      });

      test(`${runtime}: function_uri without a path + route /…/* → the tail is the path`, async () => {
        const a = await routeReady(id('tail'), `/of-${runtime}/hello/*`, { openfunction: { function_uri: origin('test-uri') } }, `/of-${runtime}/hello/openfunction`);
        assert.equal(a.text, 'Hello, openfunction!\n');
      });
    }

    test('the service token is encrypted at rest: the PUT response shows ciphertext, GET the token', async () => {
      const put = await route('of-secret', '/of-secret', { openfunction: { function_uri: of['test-header'].origin, authorization: { service_token: 'test:test' } } });
      const stored = put.value.plugins.openfunction.authorization.service_token as string;
      assert.notEqual(stored, 'test:test');
      assert.match(stored, BASE64);
      const got = await admin('GET', '/apisix/admin/routes/of-secret', undefined, 200);
      assert.equal(got.value.plugins.openfunction.authorization.service_token, 'test:test');
      assert.equal((await callUntil('/of-secret', (a) => a.status === 200)).text, '[Basic dGVzdDp0ZXN0]', 'the gateway decrypts it');
    });

    test('a crashing function (500 + X-OpenFunction-Status) is passed through', async () => {
      of['test-uri'].faults.status = 500;
      try {
        const a = await routeReady('of-crash', '/of-crash', { openfunction: { function_uri: `${of['test-uri'].origin}/x` } }, '/of-crash');
        assert.equal(a.status, 500);
        assert.equal(a.headers['x-openfunction-status'], 'crash');
        assert.match(a.text, /^Function panic: /);
      } finally {
        of['test-uri'].reset();
      }
    });
  });

  describe('azure-functions (t/plugin/azure-functions.t)', () => {
    const fn = () => `${azure.origin}/api`;

    test('schema errors through the Admin API', async () => {
      const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/az-bad', { uri: '/x', plugins: { 'azure-functions': {} } });
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, { error_msg: 'failed to check the configuration of plugin azure-functions err: property "function_uri" is required' });
      const typed = await adminRequest(gw, 'PUT', '/apisix/admin/routes/az-bad', { uri: '/x', plugins: { 'azure-functions': { function_uri: 'x', timeout: 99 } } });
      assert.match((typed.json as { error_msg: string }).error_msg, /property "timeout" validation failed: expected 99 to be at least 100/);
    });

    test('GET → the function\'s body and headers (Content-Length 13, X-Extra-Header)', async () => {
      const plugins = { 'azure-functions': { function_uri: `${fn()}/httptrigger`, authorization: { apikey: 'test_key' } } };
      const a = await routeReady('az-get', '/azure', plugins, '/azure');
      assert.equal(a.status, 200);
      assert.equal(a.text, 'faas invoked\n');
      assert.equal(a.headers['content-length'], '13');
      assert.equal(a.headers['x-extra-header'], 'MUST');
      assert.equal(azure.last().headers['x-functions-key'], 'test_key');
    });

    test('HEAD → the function\'s headers, no body', async () => {
      const a = await callUntil('/azure', (x) => x.status === 200, { method: 'HEAD' });
      assert.equal(a.text, '');
      assert.equal(a.headers['x-extra-header'], 'MUST');
      assert.match(String(a.headers['content-type']), /^text\/plain/);
    });

    test('a client x-functions-key is not overridden', async () => {
      await call('/azure', { headers: { 'x-functions-key': 'must_not_be_overrided' } });
      assert.equal(azure.last().headers['x-functions-key'], 'must_not_be_overrided');
    });

    test('no authorization: the metadata master key (encrypted at rest) is sent', async () => {
      const put = await admin('PUT', '/apisix/admin/plugin_metadata/azure-functions', { master_apikey: 'metadata_key', master_clientid: 'cid' }, 201);
      assert.notEqual(put.value.master_apikey, 'metadata_key');
      assert.match(put.value.master_apikey as string, BASE64);
      assert.equal((await admin('GET', '/apisix/admin/plugin_metadata/azure-functions', undefined, 200)).value.master_apikey, 'metadata_key');

      await route('az-meta', '/azure-meta', { 'azure-functions': { function_uri: `${fn()}/httptrigger` } });
      // 200 once both the route and the metadata reached the workers (the master key is valid there).
      await callUntil('/azure-meta', (x) => x.status === 200);
      assert.equal(azure.last().headers['x-functions-key'], 'metadata_key');
      assert.equal(azure.last().headers['x-functions-clientid'], 'cid');
    });

    test('the route apikey is encrypted at rest', async () => {
      const put = await route('az-secret', '/azure-secret', { 'azure-functions': { function_uri: fn(), authorization: { apikey: 'test_key', clientid: 'c1' } } });
      const stored = put.value.plugins['azure-functions'].authorization;
      assert.notEqual(stored.apikey, 'test_key');
      assert.match(stored.apikey as string, BASE64);
      assert.equal(stored.clientid, 'c1', 'only apikey is a secret');
      const got = await admin('GET', '/apisix/admin/routes/az-secret', undefined, 200);
      assert.equal(got.value.plugins['azure-functions'].authorization.apikey, 'test_key');
    });

    test('path forwarding from /azure/*', async () => {
      await routeReady('az-tail', '/azure/*', { 'azure-functions': { function_uri: fn(), authorization: { apikey: 'test_key' } } }, '/azure/httptrigger');
      const cases: Array<[string, string]> = [
        ['/azure/httptrigger', '/api/httptrigger'],
        ['/azure/http/trigger', '/api/http/trigger'],
        ['/azure///http////trigger', '/api/http/trigger'],
        ['/azure/', '/api/'],
      ];
      for (const [client, sent] of cases) {
        const a = await call(client);
        assert.equal(a.status, 200, client);
        assert.equal(azure.last().target, sent, client);
      }
    });

    test('the platform\'s 401 (empty body) is passed through; _meta.error_response replaces it', async () => {
      const a = await routeReady('az-401', '/azure-401', { 'azure-functions': { function_uri: `${fn()}/httptrigger`, authorization: { apikey: 'wrong' } } }, '/azure-401');
      assert.equal(a.status, 401);
      assert.equal(a.text, '');
      const meta = await routeReady('az-401-meta', '/azure-401-meta', {
        'azure-functions': { function_uri: `${fn()}/httptrigger`, authorization: { apikey: 'wrong' }, _meta: { error_response: { message: 'function refused' } } },
      }, '/azure-401-meta');
      assert.equal(meta.status, 401);
      assert.equal(meta.text, '{"message":"function refused"}\n');
    });
  });

  describe('the shared engine', () => {
    test('query: the client\'s args re-encoded; function_uri\'s own query dropped; Host without port', async () => {
      await routeReady('e-query', '/e/query', { 'azure-functions': { function_uri: `http://localhost:${echo.port}/fn?code=KEY` } }, '/e/query');
      const a = await call('/e/query?name=AP%20ISIX&a=1&a=2&flag&plus=x+y');
      const seen = echoed(a);
      assert.equal(seen.target, '/fn?name=AP%20ISIX&a=1&a=2&flag&plus=x%20y');
      assert.equal(seen.headers.host, 'localhost');
      assert.equal(echoed(await call('/e/query')).target, '/fn', 'no client args: no query');
    });

    test('headers: client fields forwarded, X-Forwarded-* set, framing and hop-by-hop fields not', async () => {
      const seen = echoed(await call('/e/query', { headers: { 'x-client': 'yes', 'user-agent': 'curl/8', te: 'trailers' } }));
      assert.equal(seen.headers['x-client'], 'yes');
      assert.equal(seen.headers['user-agent'], 'curl/8');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.proxyPort}`);
      assert.equal(seen.headers['x-forwarded-port'], String(gw.proxyPort));
      assert.equal(seen.headers.te, undefined);
    });

    test('a chunked client body arrives with Content-Length; POST without body gets Content-Length: 0', async () => {
      const res = await request(`${gw.proxyUrl}/e/query`, { method: 'POST', body: Readable.from(['chun', 'ked']) });
      const seen = echoed({ status: res.statusCode, headers: res.headers, text: await res.body.text() });
      assert.equal(seen.body, 'chunked');
      assert.equal(seen.headers['content-length'], '7');
      assert.equal(seen.headers['transfer-encoding'], undefined);
      assert.equal(echoed(await call('/e/query', { method: 'POST' })).headers['content-length'], '0');
    });

    test('response: status, end-to-end headers and body relayed; hop-by-hop, Server and Connection-listed fields not', async () => {
      await routeReady('e-tea', '/e/teapot', { openfunction: { function_uri: `${echo.origin}/teapot` } }, '/e/teapot');
      const a = await call('/e/teapot');
      assert.equal(a.status, 418, 'a 4xx is passed through');
      assert.equal(echoed(a).target, '/teapot');
      assert.equal(a.headers['content-type'], 'application/json');
      assert.deepEqual(a.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(a.headers['content-length'], String(Buffer.byteLength(a.text)));
      assert.equal(a.headers.upgrade, undefined);
      assert.equal(a.headers['proxy-connection'], undefined);
      assert.equal(a.headers['x-private'], undefined);
      assert.notEqual(a.headers['keep-alive'], 'timeout=99');
      assert.notEqual(a.headers.server, 'function-host');
    });

    test('body over max_req_body_size → 400 (nginx page) and the function is not called', async () => {
      await routeReady('e-limit', '/e/limit', { openfunction: { function_uri: of['test-body'].origin, max_req_body_size: 4 } }, '/e/limit', { method: 'POST', body: 'test' });
      const calls = of['test-body'].requests.length;
      const a = await call('/e/limit', { method: 'POST', body: 'tests' });
      assert.equal(a.status, 400);
      assert.match(a.text, /400 Bad Request/);
      const chunked = await request(`${gw.proxyUrl}/e/limit`, { method: 'POST', body: Readable.from(['te', 'sts']) });
      assert.equal(chunked.statusCode, 400);
      await chunked.body.text();
      assert.equal(of['test-body'].requests.length, calls);
    });

    test('a function slower than timeout → 503 (nginx page) and the log line', async () => {
      azure.faults.delayMs = 1500;
      try {
        await route('e-slow', '/e/slow', { 'azure-functions': { function_uri: `${azure.origin}/api/httptrigger`, timeout: 200 } });
        const started = Date.now();
        const a = await callUntil('/e/slow', (x) => x.status === 503);
        assert.ok(Date.now() - started < 10_000);
        assert.match(a.text, /503 Service Temporarily Unavailable/);
        await waitFor(() => gw.output().includes('failed to process azure-functions, err: timeout'), { what: 'the timeout log line' });
      } finally {
        azure.reset();
      }
    });

    test('a refused connection → 503 and the log line', async () => {
      const port = await freePort();
      await route('e-refused', '/e/refused', { openfunction: { function_uri: `http://127.0.0.1:${port}/x` } });
      const a = await callUntil('/e/refused', (x) => x.status === 503);
      assert.match(a.text, /503 Service Temporarily Unavailable/);
      await waitFor(() => gw.output().includes('failed to process openfunction, err: connection refused'), { what: 'the refused log line' });
    });

    test('keep-alive: sequential calls reuse one connection; keepalive: false opens one per call', async () => {
      const counter = await startHttpDouble(() => ({ status: 200, body: 'ok' }));
      try {
        await routeReady('e-ka', '/e/ka', { openfunction: { function_uri: counter.origin } }, '/e/ka');
        await routeReady('e-noka', '/e/noka', { openfunction: { function_uri: `${counter.origin}/`, keepalive: false } }, '/e/noka');
        let before = counter.connections();
        for (let i = 0; i < 5; i++) assert.equal((await call('/e/ka')).status, 200);
        assert.ok(counter.connections() - before <= 1, `${counter.connections() - before} new connections for 5 calls`);
        before = counter.connections();
        for (let i = 0; i < 3; i++) await call('/e/noka');
        assert.equal(counter.connections() - before, 3);
        assert.equal(counter.last().headers.connection, 'close');
      } finally {
        await counter.close();
      }
    });

    test('keepalive_timeout closes idle connections; keepalive_pool caps those kept idle', async () => {
      const slow = await startHttpDouble(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return { status: 200, body: 'ok' };
      });
      try {
        await routeReady('e-idle', '/e/idle', { openfunction: { function_uri: slow.origin, keepalive_timeout: 1000, keepalive_pool: 1 } }, '/e/idle');
        await Promise.all([call('/e/idle'), call('/e/idle'), call('/e/idle')]);
        assert.ok(slow.connections() >= 3, 'concurrent calls are not queued behind the pool size');
        await waitFor(() => slow.openConnections() === 1, { what: 'the surplus connections to close' });
        await waitFor(() => slow.openConnections() === 0, { timeoutMs: 3000, what: 'the idle connection to expire' });
        const before = slow.connections();
        assert.equal((await call('/e/idle')).status, 200);
        assert.equal(slow.connections(), before + 1);
      } finally {
        await slow.close();
      }
    });

    test('ssl_verify: a trusted certificate passes; an untrusted one → 503 unless ssl_verify is false', async () => {
      const trusted = await routeReady('e-tls-trusted', '/e/tls/trusted', { openfunction: { function_uri: `https://localhost:${trustedTls.port}/` } }, '/e/tls/trusted');
      assert.equal(trusted.text, 'trusted tls');
      await route('e-tls-verify', '/e/tls/verify', { openfunction: { function_uri: untrustedTls.origin } });
      assert.equal((await callUntil('/e/tls/verify', (x) => x.status === 503)).status, 503);
      await waitFor(() => gw.output().includes('failed to process openfunction, err: handshake failed'), { what: 'the TLS log line' });
      const unverified = await routeReady('e-tls-off', '/e/tls/off', { openfunction: { function_uri: untrustedTls.origin, ssl_verify: false } }, '/e/tls/off');
      assert.equal(unverified.status, 200);
      assert.equal(unverified.text, 'untrusted tls');
    });

    test('Expect: 100-continue is not forwarded', async () => {
      await routeReady('e-expect', '/e/expect', { openfunction: { function_uri: echo.origin } }, '/e/expect');
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(gw.proxyPort, '127.0.0.1', () => {
          // Not end(): a half-closed client connection is torn down before the answer.
          socket.write('POST /e/expect HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhi');
        });
        let data = '';
        socket.on('data', (d: Buffer) => { data += d.toString(); });
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      const forwarded = JSON.parse(raw.slice(raw.lastIndexOf('\r\n\r\n') + 4)) as { headers: Record<string, string>; body: string };
      assert.equal(forwarded.body, 'hi');
      assert.equal(forwarded.headers.expect, undefined);
    });
  });
});
