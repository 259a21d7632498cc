/**
 * proxyUpgrade() with real WebSocket peers (the `ws` package) on loopback:
 * round trip, proxy headers, retries on a refused node, a declined upgrade
 * relayed as is, the error page when no node answers, and what passive
 * health checks learn from Upgrade attempts.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { proxyUpgrade, type UpgradeOutcome } from '../../src/upstream/websocket.js';
import type { CompiledUpstream, UpstreamConf } from '../../src/upstream/types.js';
import { closedPort, closeServer, compile, rawExchange, startRawUpstream, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** An echo WebSocket upstream that records the upgrade request's headers. */
async function echoUpstream(): Promise<{ port: number; requests: http.IncomingHttpHeaders[] }> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server });
  const requests: http.IncomingHttpHeaders[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req.headers);
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${String(data)}`));
  });
  const port = await listen(server);
  cleanups.push(async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await closeServer(server);
  });
  return { port, requests };
}

/** A gateway whose 'upgrade' listener proxies to `conf`. */
async function gateway(conf: UpstreamConf): Promise<{ port: number; outcomes: UpgradeOutcome[]; upstream: CompiledUpstream }> {
  const compiled = compile(conf);
  const outcomes: UpgradeOutcome[] = [];
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    void proxyUpgrade(compiled.upstream, req, socket, head, {
      downstream: { remoteAddr: req.socket.remoteAddress ?? '', scheme: 'http', host: req.headers.host ?? '', serverPort: req.socket.localPort ?? 0 },
      vars: () => undefined,
      server: 'APISIX',
    }).then((outcome) => outcomes.push(outcome));
  });
  const port = await listen(server);
  cleanups.push(async () => {
    await closeServer(server);
    await compiled.dispose();
  });
  return { port, outcomes, upstream: compiled.upstream };
}

function open(port: number, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?room=1`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(String(data))));
}

describe('proxyUpgrade', () => {
  test('relays the handshake and frames both ways, with the proxy headers', async () => {
    const up = await echoUpstream();
    const gw = await gateway({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    const ws = await open(gw.port, { 'x-forwarded-for': '1.2.3.4' });
    ws.send('hello');
    assert.equal(await nextMessage(ws), 'echo:hello');
    ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual([...Buffer.from(await nextMessage(ws), 'latin1')], [1, 2, 3]);
    const seen = up.requests[0]!;
    assert.equal(seen.host, `127.0.0.1:${gw.port}`);
    assert.equal(seen.upgrade, 'websocket');
    assert.match(String(seen.connection), /upgrade/i);
    assert.equal(seen['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    ws.close();
    await waitFor(() => gw.outcomes.length === 1, 3000, 'the tunnel to close');
    assert.deepEqual({ ...gw.outcomes[0], node: undefined }, { kind: 'upgraded', status: 101, node: undefined, attempts: 1, upstreamStatus: '101' });
  });

  test('a refused node is retried on the next one', async () => {
    const up = await echoUpstream();
    const gw = await gateway({ nodes: [{ host: '127.0.0.1', port: await closedPort(), weight: 1 }, { host: '127.0.0.1', port: up.port, weight: 1 }] });
    const ws = await open(gw.port);
    ws.send('again');
    assert.equal(await nextMessage(ws), 'echo:again');
    ws.close();
    await waitFor(() => gw.outcomes.length === 1, 3000, 'the tunnel to close');
    assert.equal(gw.outcomes[0]?.kind === 'upgraded' && gw.outcomes[0].upstreamStatus, '502, 101');
  });

  test('a declined upgrade is relayed to the client', async () => {
    const up = await startRawUpstream((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Reason: nope\r\n\r\ndenied'));
    });
    cleanups.push(() => up.close());
    const gw = await gateway({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    const reply = await rawExchange(gw.port, 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n'
      + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    assert.equal(reply.statusLine, 'HTTP/1.1 403 Forbidden');
    assert.equal(reply.body, 'denied');
    assert.deepEqual(reply.headers.get('x-reason'), ['nope']);
    assert.deepEqual(reply.headers.get('server'), ['APISIX']);
    await waitFor(() => gw.outcomes.length === 1, 3000, 'outcome');
    assert.equal(gw.outcomes[0]?.kind, 'responded');
  });

  test('no node answers → 502 error page on the socket', async () => {
    const gw = await gateway({ nodes: { [`127.0.0.1:${await closedPort()}`]: 1, [`127.0.0.1:${await closedPort()}`]: 1 } });
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/`);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('should not open')));
      ws.once('error', () => { /* reported through unexpected-response */ });
    });
    assert.equal(status, 502);
    await waitFor(() => gw.outcomes.length === 1, 3000, 'outcome');
    const outcome = gw.outcomes[0];
    assert.ok(outcome?.kind === 'failed');
    assert.equal(outcome.upstreamStatus, '502, 502');
  });

  test('passive health checks count Upgrade attempts: a failing status and a refused connection', async () => {
    const handshake = 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n'
      + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    // Active probes far apart and with limits no probe reaches: only the Upgrade attempts count.
    const checks = {
      active: { healthy: { interval: 300 }, unhealthy: { interval: 300, http_failures: 254, tcp_failures: 254, timeouts: 254 } },
      passive: { unhealthy: { http_statuses: [503], http_failures: 1, tcp_failures: 1 } },
    };
    const busy = await startRawUpstream((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'));
    });
    cleanups.push(() => busy.close());
    const declined = await gateway({ nodes: { [`127.0.0.1:${busy.port}`]: 1 }, checks });
    const busyNode = declined.upstream.nodes[0]!;
    assert.equal(declined.upstream.health?.isHealthy(busyNode), true);
    assert.equal((await rawExchange(declined.port, handshake)).statusLine, 'HTTP/1.1 503 Service Unavailable');
    assert.equal(declined.upstream.health?.isHealthy(busyNode), false, 'the 503 counted');

    const refused = await gateway({ nodes: { [`127.0.0.1:${await closedPort()}`]: 1 }, checks });
    const closedNode = refused.upstream.nodes[0]!;
    assert.equal(refused.upstream.health?.isHealthy(closedNode), true);
    assert.match((await rawExchange(refused.port, handshake)).statusLine, /^HTTP\/1\.1 502 /);
    assert.equal(refused.upstream.health?.isHealthy(closedNode), false, 'the refused connection counted');
  });
});
