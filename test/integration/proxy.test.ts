/**
 * The gateway as a user runs it: real process, real Admin API calls, real
 * upstream servers on loopback.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

describe('proxying through the gateway', () => {
  let gw: GatewayProcess;
  let a: TestUpstream;
  let b: TestUpstream;

  before(async () => {
    [gw, a, b] = await Promise.all([startGatewayProcess(), startUpstream('a'), startUpstream('b')]);
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await Promise.all([a.close(), b.close()]);
  });

  /** GET through the proxy until the answer satisfies `ok` (config reaches the data plane asynchronously). */
  async function getUntil(path: string, ok: (status: number, body: string) => boolean, headers: Record<string, string> = {}) {
    let last = { status: 0, body: '', headers: {} as Record<string, unknown> };
    await waitFor(async () => {
      const res = await request(`${gw.proxyUrl}${path}`, { headers });
      last = { status: res.statusCode, body: await res.body.text(), headers: res.headers };
      return ok(last.status, last.body);
    }, { what: `GET ${path}`, timeoutMs: 5_000 });
    return last;
  }

  test('an unmatched request gets APISIX\'s 404 JSON', async () => {
    const res = await request(`${gw.proxyUrl}/nothing-here`);
    assert.equal(res.statusCode, 404);
    assert.equal(await res.body.text(), '{"error_msg":"404 Route Not Found"}\n');
  });

  test('a route created with the Admin API is served, with the query string and proxy headers', async () => {
    const put = await adminRequest(gw, 'PUT', '/apisix/admin/routes/1', {
      uri: '/hello',
      upstream: { type: 'roundrobin', nodes: { [a.node]: 1 } },
    });
    assert.equal(put.status, 201);
    const res = await getUntil('/hello?x=1&y=two', (s) => s === 200);
    const echo = JSON.parse(res.body) as { name: string; url: string; headers: Record<string, string> };
    assert.equal(echo.name, 'a');
    assert.equal(echo.url, '/hello?x=1&y=two');
    assert.equal(echo.headers['x-real-ip'], '127.0.0.1');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.equal(echo.headers.host, `127.0.0.1:${gw.proxyPort}`);
    assert.match(String(res.headers.server), /^fngate\//);
  });

  test('an update (PATCH) and a delete take effect without restart', async () => {
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/2', { uri: '/swap', upstream: { nodes: { [a.node]: 1 } } });
    await getUntil('/swap', (s, body) => s === 200 && body.includes('"name":"a"'));
    const patch = await adminRequest(gw, 'PATCH', '/apisix/admin/routes/2/upstream/nodes', { [b.node]: 1 });
    assert.equal(patch.status, 200);
    await getUntil('/swap', (s, body) => s === 200 && body.includes('"name":"b"'));
    assert.equal((await adminRequest(gw, 'DELETE', '/apisix/admin/routes/2')).status, 200);
    await getUntil('/swap', (s) => s === 404);
  });

  test('routes reach upstreams by upstream_id and through a service', async () => {
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/upstreams/u1', { nodes: { [b.node]: 1 } })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/services/s1', { upstream_id: 'u1' })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/by-id', { uri: '/by-id', upstream_id: 'u1' })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/by-svc', { uri: '/by-svc', service_id: 's1' })).status, 201);
    await getUntil('/by-id', (s, body) => s === 200 && body.includes('"name":"b"'));
    await getUntil('/by-svc', (s, body) => s === 200 && body.includes('"name":"b"'));
    // The upstream is in use: deleting it is refused, as APISIX does.
    const del = await adminRequest(gw, 'DELETE', '/apisix/admin/upstreams/u1');
    assert.equal(del.status, 400);
    assert.match(String((del.json as { error_msg: string }).error_msg), /can not delete this upstream/);
  });

  test('weighted round robin spreads requests by weight', async () => {
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/wrr', {
      uri: '/wrr',
      upstream: { type: 'roundrobin', nodes: { [a.node]: 3, [b.node]: 1 } },
    });
    await getUntil('/wrr', (s) => s === 200);
    const seen = { a: 0, b: 0 };
    for (let i = 0; i < 40; i++) {
      const res = await request(`${gw.proxyUrl}/wrr`);
      const { name } = JSON.parse(await res.body.text()) as { name: 'a' | 'b' };
      seen[name]++;
    }
    assert.deepEqual(seen, { a: 30, b: 10 });
  });

  test('host, method and vars conditions select between routes', async () => {
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/h1', {
      uri: '/cond', hosts: ['*.example.com'], methods: ['GET'], upstream: { nodes: { [a.node]: 1 } },
    });
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/h2', {
      uri: '/cond', vars: [['arg_pick', '==', 'b']], upstream: { nodes: { [b.node]: 1 } },
    });
    await getUntil('/cond', (s, body) => s === 200 && body.includes('"name":"a"'), { host: 'api.example.com' });
    await getUntil('/cond?pick=b', (s, body) => s === 200 && body.includes('"name":"b"'));
    await getUntil('/cond', (s) => s === 404);
  });

  test('a route with status 0 is not served', async () => {
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/off', { uri: '/off', status: 0, upstream: { nodes: { [a.node]: 1 } } });
    const res = await request(`${gw.proxyUrl}/off`);
    assert.equal(res.statusCode, 404);
    await res.body.dump();
  });

  test('a dead node gives 502 with nginx\'s page; a retry reaches the live one', async () => {
    const dead = await startUpstream('dead');
    const deadNode = dead.node;
    await dead.close();
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/dead', { uri: '/dead', upstream: { nodes: { [deadNode]: 1 } } });
    const res = await getUntil('/dead', (s) => s === 502);
    assert.match(res.body, /502 Bad Gateway/);
    assert.equal(res.headers['x-apisix-upstream-status'], '502');

    await adminRequest(gw, 'PUT', '/apisix/admin/routes/retry', {
      uri: '/retry', upstream: { nodes: [{ host: '127.0.0.1', port: Number(deadNode.split(':')[1]), weight: 100 }, { host: '127.0.0.1', port: a.port, weight: 1 }] },
    });
    for (let i = 0; i < 5; i++) {
      const ok = await getUntil('/retry', (s) => s !== 404);
      assert.equal(ok.status, 200);
    }
  });

  test('a route without any upstream answers 503', async () => {
    await adminRequest(gw, 'PUT', '/apisix/admin/routes/none', { uri: '/none', plugins: {} });
    const res = await getUntil('/none', (s) => s !== 404);
    assert.equal(res.status, 503);
  });

  test('a client that half-closes after its request still gets the answer', async () => {
    await getUntil('/hello', (s) => s === 200);
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.proxyPort, '127.0.0.1', () => {
        socket.write('GET /hello HTTP/1.1\r\nHost: h\r\n\r\n');
        socket.end(); // FIN after the request, as `curl` over some proxies or `nc -N` do
      });
      let data = '';
      socket.on('data', (d: Buffer) => { data += d.toString(); });
      socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
    assert.equal(statusLine, 'HTTP/1.1 200 OK');
  });

  test('an upload cut short by an upstream failure gets its 502 and a closed connection', async () => {
    // An upstream that reads the request head, then resets the connection mid-body.
    const resetter = createServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
    const node = `127.0.0.1:${(resetter.address() as AddressInfo).port}`;
    try {
      await adminRequest(gw, 'PUT', '/apisix/admin/routes/upload', { uri: '/upload', upstream: { nodes: { [node]: 1 }, retries: 0 } });
      await getUntil('/upload', (s) => s === 502);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(gw.proxyPort, '127.0.0.1', () => {
          // A chunked body that is never finished: the gateway must not wait for its end to answer.
          socket.write('POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
        });
        // Without the close, give up after a while instead of hanging the suite.
        socket.setTimeout(3000, () => socket.destroy());
        let data = '';
        socket.on('data', (d: Buffer) => { data += d.toString(); });
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.1 502 /);
      assert.match(reply, /\r\nconnection: close\r\n/i, 'the unread rest of the body ends the connection');
    } finally {
      await new Promise<void>((r) => resetter.close(() => r()));
    }
  });

  test('a malformed request target is a 400, not a crash', async () => {
    const res = await request(`${gw.proxyUrl}/%zz`);
    assert.equal(res.statusCode, 400);
    await res.body.dump();
    const after = await request(`${gw.proxyUrl}/hello`);
    assert.equal(after.statusCode, 200);
    await after.body.dump();
  });
});
