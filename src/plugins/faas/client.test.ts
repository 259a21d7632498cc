/**
 * The FaaS client against real loopback servers: connection reuse and the
 * idle cap, keepalive off, per-operation timeouts, failures worded as
 * APISIX logs them, TLS verification, and request framing.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Socket } from 'node:net';
import { startHttpDouble, type HttpDouble } from '../../../test/doubles/http-double.js';
import { selfSignedCert } from '../../../test/doubles/self-signed-cert.js';
import { freePort, waitFor } from '../../../test/helpers/net.js';
import { FAAS_DEFAULTS, type ConnectionOptions } from './schema.js';
import { FunctionCallError, FunctionEndpoint, closeFunctionConnections, type FunctionRequest } from './client.js';

const defaults: ConnectionOptions = { ...FAAS_DEFAULTS };

const get = (path = '/fn'): FunctionRequest => ({ method: 'GET', path, headers: { host: '127.0.0.1' } });

async function rejection(promise: Promise<unknown>): Promise<FunctionCallError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof FunctionCallError, `expected a FunctionCallError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

describe('FunctionEndpoint', () => {
  const doubles: HttpDouble[] = [];
  async function double(...args: Parameters<typeof startHttpDouble>): Promise<HttpDouble> {
    const d = await startHttpDouble(...args);
    doubles.push(d);
    return d;
  }
  after(async () => {
    await closeFunctionConnections();
    await Promise.all(doubles.map((d) => d.close()));
  });

  test('status, headers (repeated ones as arrays) and body come back whole', async () => {
    const fn = await double(() => ({
      status: 418,
      headers: [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Extra-Header', 'MUST']],
      body: 'short and stout',
    }));
    const res = await new FunctionEndpoint(fn.origin, defaults).send(get());
    assert.equal(res.status, 418);
    assert.equal(res.body.toString(), 'short and stout');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-extra-header'], 'MUST');
  });

  test('sequential calls share one connection; the pool is per origin and options', async () => {
    const fn = await double(() => ({ status: 200, body: 'ok' }));
    const endpoint = new FunctionEndpoint(fn.origin, defaults);
    for (let i = 0; i < 5; i++) assert.equal((await endpoint.send(get())).status, 200);
    // A second endpoint object with equal options uses the same pool.
    await new FunctionEndpoint(`${fn.origin}/other/path`, defaults).send(get());
    assert.equal(fn.connections(), 1);
    assert.deepEqual(fn.requests.map((r) => r.connection), [1, 1, 1, 1, 1, 1]);
  });

  test('keepalive: false opens a connection per call and asks the function to close it', async () => {
    const fn = await double(() => ({ status: 200, body: 'ok' }));
    const endpoint = new FunctionEndpoint(fn.origin, { ...defaults, keepalive: false });
    for (let i = 0; i < 3; i++) await endpoint.send(get());
    assert.equal(fn.connections(), 3);
    assert.equal(fn.last().headers.connection, 'close');
  });

  test('keepalive_pool caps idle connections, not concurrent calls', async () => {
    const fn = await double(async () => {
      await new Promise((r) => setTimeout(r, 50));
      return { status: 200, body: 'ok' };
    });
    const endpoint = new FunctionEndpoint(fn.origin, { ...defaults, keepalive_pool: 1 });
    // Three at once: three connections, none waits for another.
    await Promise.all([endpoint.send(get()), endpoint.send(get()), endpoint.send(get())]);
    assert.equal(fn.connections(), 3);
    // Only one of them was kept: two more sequential calls reuse it.
    await endpoint.send(get());
    await endpoint.send(get());
    assert.equal(fn.connections(), 3);
    const reused = fn.requests.slice(3).map((r) => r.connection);
    assert.equal(reused[0], reused[1]);
  });

  test('a pooled connection the function closed is replaced without an error', async () => {
    const fn = await double(() => ({ status: 200, body: 'ok' }));
    const endpoint = new FunctionEndpoint(fn.origin, defaults);
    await endpoint.send(get());
    fn.server.closeIdleConnections();
    await waitFor(() => fn.openConnections() === 0, { what: 'the function to close its idle connection' });
    assert.equal((await endpoint.send(get())).status, 200);
    assert.equal(fn.connections(), 2);
  });

  test('the function closing after each answer (Connection: close) is honoured', async () => {
    const fn = await double(() => ({ status: 200, headers: [['Connection', 'close']], body: 'bye' }));
    const endpoint = new FunctionEndpoint(fn.origin, defaults);
    for (let i = 0; i < 3; i++) assert.equal((await endpoint.send(get())).body.toString(), 'bye');
    assert.equal(fn.connections(), 3);
  });

  test('Content-Length is computed from the body, and is 0 for a POST without one', async () => {
    const fn = await double(() => ({ status: 200 }));
    const endpoint = new FunctionEndpoint(fn.origin, defaults);
    await endpoint.send({ method: 'POST', path: '/fn', headers: { host: 'h' }, body: Buffer.from('hello') });
    assert.equal(fn.last().headers['content-length'], '5');
    assert.equal(fn.last().body.toString(), 'hello');
    await endpoint.send({ method: 'POST', path: '/fn', headers: { host: 'h' } });
    assert.equal(fn.last().headers['content-length'], '0');
    await endpoint.send({ method: 'GET', path: '/fn?a=1', headers: { host: 'localhost' } });
    assert.equal(fn.last().headers['content-length'], undefined);
    assert.equal(fn.last().headers.host, 'localhost');
    assert.equal(fn.last().target, '/fn?a=1');
  });

  test('a refused connection fails as "connection refused"', async () => {
    const port = await freePort();
    const err = await rejection(new FunctionEndpoint(`http://127.0.0.1:${port}`, defaults).send(get()));
    assert.equal(err.reason, 'connection refused');
    assert.equal(err.code, 'FAAS_CALL_FAILED');
  });

  test('timeout bounds the wait for the response head', async () => {
    const fn = await double(() => ({ status: 200, body: 'late' }));
    fn.faults.delayMs = 1000;
    const started = Date.now();
    const err = await rejection(new FunctionEndpoint(fn.origin, { ...defaults, timeout: 150 }).send(get()));
    const elapsed = Date.now() - started;
    assert.equal(err.reason, 'timeout');
    assert.ok(elapsed >= 140 && elapsed < 800, `gave up after ${elapsed} ms`);
  });

  test('timeout applies to each body read, not to the whole call', async () => {
    // A body dripped in 4 chunks 100 ms apart: 300 ms in total, each wait well under 250 ms.
    const sockets = new Set<Socket>();
    const drip = createNetServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n');
        let sent = 0;
        const timer = setInterval(() => {
          socket.write('x');
          if (++sent === 4) clearInterval(timer);
        }, 100);
      });
    });
    await new Promise<void>((r) => drip.listen(0, '127.0.0.1', r));
    const { port } = drip.address() as { port: number };
    try {
      const res = await new FunctionEndpoint(`http://127.0.0.1:${port}`, { ...defaults, timeout: 250 }).send(get());
      assert.equal(res.body.toString(), 'xxxx');
      // A stall longer than the timeout between chunks fails.
      const stalled = createNetServer((socket) => {
        sockets.add(socket);
        socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nxx'));
      });
      await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
      const stalledPort = (stalled.address() as { port: number }).port;
      const err = await rejection(new FunctionEndpoint(`http://127.0.0.1:${stalledPort}`, { ...defaults, timeout: 150 }).send(get()));
      assert.equal(err.reason, 'timeout');
      stalled.close();
    } finally {
      for (const s of sockets) s.destroy();
      drip.close();
    }
  });

  test('a reset connection fails the call', async () => {
    const fn = await double(() => ({ status: 200 }));
    fn.faults.reset = true;
    const err = await rejection(new FunctionEndpoint(fn.origin, defaults).send(get()));
    assert.match(err.reason, /connection reset by peer|closed/);
  });

  test('an unresolvable host fails as "could not be resolved"', async () => {
    const err = await rejection(new FunctionEndpoint('http://fngate-no-such-host.invalid', defaults).send(get()));
    assert.equal(err.reason, 'fngate-no-such-host.invalid could not be resolved');
  });

  test('ssl_verify: a self-signed function is refused unless verification is off', async () => {
    const fn = await double(() => ({ status: 200, body: 'tls ok' }), { tls: selfSignedCert() });
    const verified = await rejection(new FunctionEndpoint(fn.origin, defaults).send(get()));
    assert.match(verified.reason, /^handshake failed: /);
    const res = await new FunctionEndpoint(fn.origin, { ...defaults, ssl_verify: false }).send(get());
    assert.equal(res.body.toString(), 'tls ok');
  });
});
