/**
 * WebSocket through the gateway (`enable_websocket`), and what an Upgrade
 * request gets on a route without it; plus `client_max_body_size`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { Client, request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { waitFor } from '../helpers/net.js';

describe('WebSocket and body limits through the gateway', () => {
  let gw: GatewayProcess;
  let server: Server;
  let port: number;
  /** Reads the whole body before answering with its length, as most upstreams do. */
  let reader: Server;
  const bodiesRead: number[] = [];

  before(async () => {
    // One upstream that speaks both: WebSocket echo, and plain HTTP answering "plain".
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`plain ${req.headers.upgrade ?? 'no-upgrade'}`);
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      ws.on('message', (data) => ws.send(`echo:${String(data)} via ${req.url}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    reader = createServer((req, res) => {
      let length = 0;
      req.on('data', (chunk: Buffer) => { length += chunk.length; });
      req.on('end', () => {
        bodiesRead.push(length);
        res.end(`read ${length}`);
      });
    });
    await new Promise<void>((r) => reader.listen(0, '127.0.0.1', r));
    gw = await startGatewayProcess({ config: { nginx_config: { http: { client_max_body_size: '1k' } } } });
    const node = { [`127.0.0.1:${port}`]: 1 };
    const readerNode = { [`127.0.0.1:${(reader.address() as { port: number }).port}`]: 1 };
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/read', { uri: '/read', upstream: { nodes: readerNode } })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/read-body', {
      uri: '/read-body',
      plugins: { 'serverless-pre-function': { phase: 'access', functions: ['return async function (conf, ctx) { await ctx.request.body(); }'] } },
      upstream: { nodes: readerNode },
    })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/read-plugins', {
      uri: '/read-plugins',
      plugins: { 'serverless-pre-function': { phase: 'access', functions: ['return function (conf, ctx) {}'] } },
      upstream: { nodes: readerNode },
    })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/ws', { uri: '/ws', enable_websocket: true, upstream: { nodes: node } })).status, 201);
    assert.equal((await adminRequest(gw, 'PUT', '/apisix/admin/routes/plain', { uri: '/plain', upstream: { nodes: node } })).status, 201);
    await waitFor(async () => {
      const res = await request(`${gw.proxyUrl}/plain`);
      await res.body.dump();
      return res.statusCode === 200;
    }, { what: 'routes served' });
  });

  after(async () => {
    await gw.stop();
    gw.cleanup();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    reader.closeAllConnections();
    await new Promise<void>((r) => reader.close(() => r()));
  });

  test('messages go both ways over a tunnelled WebSocket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.proxyPort}/ws?x=1`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(reply, 'echo:hi via /ws?x=1');
  });

  test('an Upgrade request on a route without enable_websocket is served as plain HTTP', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.proxyPort}/plain`);
      ws.once('unexpected-response', (_req, incoming) => {
        let body = '';
        incoming.on('data', (c: Buffer) => { body += c.toString(); });
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body }));
      });
      ws.once('open', () => reject(new Error('must not upgrade')));
      ws.once('error', () => { /* reported through unexpected-response */ });
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'plain no-upgrade', 'the upstream saw no Upgrade header');
  });

  test('an Upgrade request for an unknown path gets the 404 JSON', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.proxyPort}/missing`);
      ws.once('unexpected-response', (_req, incoming) => resolve(incoming.statusCode ?? 0));
      ws.once('error', () => { /* reported through unexpected-response */ });
    });
    assert.equal(status, 404);
  });

  test('a body over client_max_body_size is refused with 413 before reaching the upstream', async () => {
    const big = await request(`${gw.proxyUrl}/plain`, { method: 'POST', body: 'x'.repeat(2048) });
    assert.equal(big.statusCode, 413);
    assert.match(await big.body.text(), /413 Request Entity Too Large/);
    const small = await request(`${gw.proxyUrl}/plain`, { method: 'POST', body: 'x'.repeat(100) });
    assert.equal(small.statusCode, 200);
    await small.body.dump();
  });

  test('a chunked body is cut off at client_max_body_size with 413, with or without plugins, read by a plugin or not', async () => {
    const chunked = (bytes: number) => Readable.from((function* () {
      for (let sent = 0; sent < bytes; sent += 256) yield Buffer.alloc(Math.min(256, bytes - sent), 'y');
    })());
    for (const path of ['/read', '/read-plugins', '/read-body']) {
      bodiesRead.length = 0;
      // One connection for both requests: after the 413 it is either closed (part of the body was
      // still unread) or, when the whole body had arrived, still good for the next request.
      const client = new Client(gw.proxyUrl, { headersTimeout: 5_000, bodyTimeout: 5_000 });
      try {
        const big = await client.request({ path, method: 'POST', body: chunked(4096) });
        assert.equal(big.statusCode, 413, path);
        assert.match(await big.body.text(), /413 Request Entity Too Large/);
        assert.deepEqual(bodiesRead, [], `${path}: the upstream never received a whole body`);

        const small = await client.request({ path, method: 'POST', body: chunked(1000) });
        assert.equal(small.statusCode, 200, path);
        assert.equal(await small.body.text(), 'read 1000');
      } finally {
        await client.close();
      }
    }
  });
});
