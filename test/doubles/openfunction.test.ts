/**
 * Pins fake-openfunction to spec/serverless-platforms.md §2.3–§2.5: the CI
 * functions byte for byte, recording, gateway dispatch, fault switches, and
 * the same functions on the real functions-framework runtime.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'undici';
import type { HttpDouble } from './http-double.js';
import { startFrameworkFunction, startOpenFunctionDouble, startOpenFunctionGateway, type CiFunction, type FrameworkFunction } from './openfunction.js';

/** The raw bytes of the response to a hand-written request (nothing normalised). */
function rawExchange(port: number, requestText: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(requestText));
    let data = '';
    socket.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

/** Status line, the headers the platform controls (Date and connection management left out), body. */
function shape(raw: string): { statusLine: string; headers: string[]; body: string } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  return { statusLine, headers: lines.filter((l) => !/^(date|connection|keep-alive):/i.test(l)), body };
}

describe('fake-openfunction', () => {
  const doubles: Record<CiFunction, HttpDouble> = {} as Record<CiFunction, HttpDouble>;
  before(async () => {
    for (const name of ['test-header', 'test-uri', 'test-body'] as const) doubles[name] = await startOpenFunctionDouble(name);
  });
  after(async () => {
    await Promise.all(Object.values(doubles).map((d) => d.close()));
  });

  test('test-uri: 200 "Hello, <path>!\\n" exactly as the Go function answers', async () => {
    const raw = await rawExchange(doubles['test-uri'].port, 'GET /function-sample HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(shape(raw), {
      statusLine: 'HTTP/1.1 200 OK',
      headers: ['Content-Type: text/plain; charset=utf-8', 'Content-Length: 24'],
      body: 'Hello, function-sample!\n',
    });
  });

  test('test-uri: an empty or nested path is Go\'s 404 "404 page not found\\n" with nosniff', async () => {
    for (const path of ['/', '/default/non-existent']) {
      const raw = await rawExchange(doubles['test-uri'].port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.deepEqual(shape(raw), {
        statusLine: 'HTTP/1.1 404 Not Found',
        headers: ['Content-Type: text/plain; charset=utf-8', 'X-Content-Type-Options: nosniff', 'Content-Length: 19'],
        body: '404 page not found\n',
      }, path);
    }
  });

  test('test-uri greets the decoded path; the query is ignored', async () => {
    const res = await request(`${doubles['test-uri'].origin}/open%20function?x=1`);
    assert.equal(await res.body.text(), 'Hello, open function!\n');
  });

  test('test-header: the Authorization values in Go\'s []string format, every line kept', async () => {
    const port = doubles['test-header'].port;
    assert.equal(shape(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dGVzdDp0ZXN0\r\nConnection: close\r\n\r\n')).body, '[Basic dGVzdDp0ZXN0]');
    assert.equal(shape(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).body, '[]');
    assert.equal(shape(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\nConnection: close\r\n\r\n')).body, '[a b]');
  });

  test('test-body: "Hello, <raw body>!\\n" for any path and method', async () => {
    const res = await request(`${doubles['test-body'].origin}/default/test-body`, { method: 'PUT', body: 'test' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(await res.body.text(), 'Hello, test!\n');
  });

  test('every request is recorded as received (method, raw target, headers, body, connection)', async () => {
    const fn = doubles['test-body'];
    fn.reset();
    await (await request(`${fn.origin}/a//b?x=%20&y`, { method: 'POST', body: 'hi', headers: { 'x-test': '1' } })).body.text();
    const seen = fn.last();
    assert.equal(seen.method, 'POST');
    assert.equal(seen.target, '/a//b?x=%20&y');
    assert.equal(seen.path, '/a//b');
    assert.equal(seen.query, 'x=%20&y');
    assert.equal(seen.headers['x-test'], '1');
    assert.equal(seen.body.toString(), 'hi');
    assert.ok(seen.connection >= 1);
  });

  test('fault switches: delay, connection reset, crash (500 + X-OpenFunction-Status), fixed status', async () => {
    const fn = doubles['test-uri'];
    try {
      fn.faults.delayMs = 200;
      const started = Date.now();
      await (await request(`${fn.origin}/slow`)).body.text();
      assert.ok(Date.now() - started >= 190);
      fn.reset();

      fn.faults.reset = true;
      await assert.rejects(request(`${fn.origin}/x`));
      fn.reset();

      fn.faults.status = 500;
      const crash = await request(`${fn.origin}/x`);
      assert.equal(crash.statusCode, 500);
      assert.equal(crash.headers['x-openfunction-status'], 'crash');
      assert.match(await crash.body.text(), /^Function panic: /);

      fn.faults.status = 503;
      const fixed = await request(`${fn.origin}/x`);
      assert.equal(fixed.statusCode, 503);
      assert.equal(await fixed.body.text(), '');
    } finally {
      fn.reset();
    }
  });

  test('gateway mode: host-based and path-based dispatch (no prefix stripping), unknown → 404 empty', async () => {
    const byHost = await startOpenFunctionGateway({ mode: 'host', functions: { 'default/function-sample': 'test-uri' } });
    const byPath = await startOpenFunctionGateway({ mode: 'path', functions: { 'default/function-sample': 'test-body' } });
    try {
      const hosted = await request(`${byHost.origin}/World`, { headers: { host: 'function-sample.default.ofn.io' } });
      assert.equal(await hosted.body.text(), 'Hello, World!\n');
      const unknownHost = await request(`${byHost.origin}/World`, { headers: { host: 'nope.default.ofn.io' } });
      assert.equal(unknownHost.statusCode, 404);
      assert.equal(await unknownHost.body.text(), '');

      const pathed = await request(`${byPath.origin}/default/function-sample/x`, { method: 'POST', body: 'b' });
      assert.equal(await pathed.body.text(), 'Hello, b!\n');
      assert.equal(byPath.last().path, '/default/function-sample/x', 'the function sees the full path');
      const unknownPath = await request(`${byPath.origin}/default/other`);
      assert.equal(unknownPath.statusCode, 404);
      await unknownPath.body.text();
    } finally {
      await Promise.all([byHost.close(), byPath.close()]);
    }
  });
});

describe('the CI functions on @google-cloud/functions-framework', () => {
  const fns: Partial<Record<CiFunction, FrameworkFunction>> = {};
  before(async () => {
    for (const name of ['test-header', 'test-uri', 'test-body'] as const) fns[name] = await startFrameworkFunction(name);
  });
  after(async () => {
    await Promise.all(Object.values(fns).map((f) => f.close()));
  });

  test('it listens on loopback only', () => {
    assert.equal((fns['test-uri']?.server.address() as { address: string }).address, '127.0.0.1');
  });

  test('same bodies and statuses as the Go functions', async () => {
    const ok = await request(`${fns['test-uri']?.origin}/function-sample`);
    assert.equal(ok.statusCode, 200);
    assert.equal(await ok.body.text(), 'Hello, function-sample!\n');
    const missing = await request(`${fns['test-uri']?.origin}/default/non-existent`);
    assert.equal(missing.statusCode, 404);
    assert.equal(await missing.body.text(), '404 page not found\n');
    const body = await request(`${fns['test-body']?.origin}/default/test-body`, { method: 'POST', body: 'test', headers: { 'content-type': 'text/plain' } });
    assert.equal(await body.body.text(), 'Hello, test!\n');
    const header = await request(`${fns['test-header']?.origin}/`, { headers: { authorization: 'Basic dGVzdDp0ZXN0' } });
    assert.equal(await header.body.text(), '[Basic dGVzdDp0ZXN0]');
  });
});
