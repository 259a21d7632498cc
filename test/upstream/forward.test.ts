/**
 * forward() against real loopback upstreams: balancing across attempts,
 * retries and their limits, timeouts, pass_host, proxy headers, keep-alive
 * reuse, streaming and aborts (spec/routing.md §5–§6).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import {
  closedPort,
  compile,
  rawExchange,
  request,
  startGateway,
  startRawUpstream,
  startUpstream,
  waitFor,
  type Upstream,
} from './helpers.js';
import type { UpstreamConf } from '../../src/upstream/types.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function upstreamNamed(name: string, extra?: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Upstream> {
  const up = await startUpstream((req, res) => {
    if (extra) {
      extra(req, res);
      return;
    }
    req.resume();
    req.on('end', () => res.end(name));
  });
  cleanups.push(() => up.close());
  return up;
}

async function gatewayFor(conf: UpstreamConf, options: Parameters<typeof startGateway>[1] = {}) {
  const compiled = compile(conf);
  const gw = await startGateway(compiled.upstream, options);
  cleanups.push(async () => {
    await gw.close();
    await compiled.dispose();
  });
  return gw;
}

/** An upstream that accepts the request and then drops the connection without answering. */
async function resettingUpstream(): Promise<{ port: number; received: () => number }> {
  let received = 0;
  const up = await startRawUpstream((socket) => {
    socket.once('data', () => {
      received += 1;
      socket.destroy();
    });
  });
  cleanups.push(() => up.close());
  return { port: up.port, received: () => received };
}

describe('forward: proxying', () => {
  test('relays status, headers and body, and sends the proxy headers', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const up = await upstreamNamed('a', (req, res) => {
      seen = req.headers;
      res.writeHead(201, { 'x-up': 'yes', 'set-cookie': ['a=1', 'b=2'] }).end('hello');
    });
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    const reply = await request(gw.port, { path: '/p?q=1', headers: { host: 'Example.COM:8443', 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' } });
    assert.equal(reply.status, 201);
    assert.equal(reply.body, 'hello');
    assert.equal(reply.headers['x-up'], 'yes');
    assert.deepEqual(reply.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(seen.host, 'Example.COM:8443');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
    // No trusted_addresses configured: the observed values win.
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'Example.COM:8443');
    assert.equal(seen['x-forwarded-port'], '8443');
    const outcome = gw.outcomes[0];
    assert.equal(outcome?.kind, 'proxied');
    assert.equal(outcome.kind === 'proxied' && outcome.upstreamStatus, '201');
  });

  test('keeps a trusted peer\'s X-Forwarded-* and Forwarded; drops an untrusted peer\'s chain', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const up = await upstreamNamed('a', (req, res) => {
      seen = req.headers;
      res.end();
    });
    const forwarded = { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example', 'x-forwarded-port': '443', forwarded: 'for=1.2.3.4' };
    const trusting = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } }, { headerOptions: { trusted: (ip) => ip === '127.0.0.1' } });
    await request(trusting.port, { headers: forwarded });
    assert.equal(seen['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-host'], 'public.example');
    assert.equal(seen['x-forwarded-port'], '443');
    assert.equal(seen.forwarded, 'for=1.2.3.4');

    const distrusting = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } }, { headerOptions: { trusted: () => false } });
    await request(distrusting.port, { headers: forwarded });
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen.forwarded, undefined);
  });

  test('pass_host: pass, node and rewrite', async () => {
    const hosts: Array<string | undefined> = [];
    const up = await upstreamNamed('a', (req, res) => {
      hosts.push(req.headers.host);
      res.end();
    });
    const node = `127.0.0.1:${up.port}`;
    for (const conf of [
      { nodes: { [node]: 1 }, pass_host: 'pass' },
      { nodes: { [node]: 1 }, pass_host: 'node' },
      { nodes: { [node]: 1 }, pass_host: 'rewrite', upstream_host: 'rewritten.example' },
    ] as const) {
      const gw = await gatewayFor(conf);
      await request(gw.port, { headers: { host: 'client.example' } });
    }
    assert.deepEqual(hosts, ['client.example', node, 'rewritten.example']);
  });

  test('hop-by-hop headers are dropped both ways, including names listed in Connection', async () => {
    let seenRaw: string[] = [];
    const up = await startRawUpstream((socket) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString('latin1');
        if (!data.includes('\r\n\r\n')) return;
        seenRaw = data.split('\r\n').slice(1).filter(Boolean).map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Internal\r\nX-Internal: secret\r\n'
          + 'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End: 1\r\n\r\nok');
      });
    });
    cleanups.push(() => up.close());
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    const reply = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n'
      + 'Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nTrailer: X-T\r\nX-Kept: k\r\n\r\n');
    assert.equal(reply.body, 'ok');
    for (const name of ['x-secret', 'keep-alive', 'te', 'proxy-connection', 'upgrade', 'trailer']) {
      assert.ok(!seenRaw.includes(name), `${name} must not reach the upstream`);
    }
    assert.ok(seenRaw.includes('x-kept'));
    // APISIX sends `Connection: $upstream_connection`, empty (so absent) unless proxying a WebSocket.
    assert.equal(seenRaw.filter((n) => n === 'connection').length, 0, 'no Connection header on a keep-alive request');
    assert.deepEqual(gw.responseHeaders[0], { 'content-length': '2', 'x-end': '1' });
    assert.equal(reply.headers.get('x-internal'), undefined);
    assert.equal(reply.headers.get('upgrade'), undefined);
    assert.equal(reply.headers.get('proxy-connection'), undefined);
  });

  test('reuses one keep-alive connection for sequential requests (keepalive_pool.size 1)', async () => {
    const up = await upstreamNamed('a');
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 }, keepalive_pool: { size: 1, idle_timeout: 60, requests: 1000 } });
    for (let i = 0; i < 8; i++) assert.equal((await request(gw.port)).body, 'a');
    assert.equal(up.connections, 1);
  });

  test('keepalive_pool.requests caps the requests per connection', async () => {
    const up = await upstreamNamed('a');
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 }, keepalive_pool: { size: 1, idle_timeout: 60, requests: 2 } });
    for (let i = 0; i < 6; i++) await request(gw.port);
    assert.equal(up.connections, 3);
  });

  test('balances across nodes by smooth weighted round robin', async () => {
    const a = await upstreamNamed('a');
    const b = await upstreamNamed('b');
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${a.port}`]: 2, [`127.0.0.1:${b.port}`]: 1 } });
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push((await request(gw.port)).body);
    assert.deepEqual(bodies, ['a', 'b', 'a', 'a', 'b', 'a']);
  });

  test('no nodes → 503; all nodes weight 0 → 503', async () => {
    const empty = await gatewayFor({ nodes: {} });
    assert.equal((await request(empty.port)).status, 503);
    assert.deepEqual(empty.outcomes[0], { kind: 'failed', status: 503, reason: 'no valid upstream node', upstreamStatus: '', attempts: 0 });
    const up = await upstreamNamed('a');
    const zero = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 0, [`127.0.0.1:${await closedPort()}`]: 0 } });
    assert.equal((await request(zero.port)).status, 503);
  });
});

/** A throwaway self-signed certificate (openssl), for an HTTPS upstream. */
function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'fngate-upstream-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=upstream.test',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('forward: https upstreams', () => {
  test('certificates are not verified and SNI follows the Host sent upstream', async () => {
    const seen: Array<{ sni: string | false | null; host: string | undefined }> = [];
    const server = https.createServer(selfSignedCert(), (req, res) => {
      seen.push({ sni: (req.socket as TLSSocket).servername, host: req.headers.host });
      res.end('secure');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const port = (server.address() as net.AddressInfo).port;
    const passing = await gatewayFor({ scheme: 'https', nodes: { [`127.0.0.1:${port}`]: 1 } });
    const reply = await request(passing.port, { headers: { host: 'api.example:9443' } });
    assert.equal(reply.body, 'secure');
    const byNode = await gatewayFor({ scheme: 'https', pass_host: 'node', nodes: { [`127.0.0.1:${port}`]: 1 } });
    await request(byNode.port, { headers: { host: 'api.example' } });
    assert.deepEqual(seen, [
      { sni: 'api.example', host: 'api.example:9443' },
      // An IP literal is never sent as SNI (RFC 6066 §3).
      { sni: false, host: `127.0.0.1:${port}` },
    ]);
  });

  test('a connect timeout (TLS handshake never answered) → 504, on time', async () => {
    const silent = await startRawUpstream(() => { /* accepts, never speaks TLS */ });
    cleanups.push(() => silent.close());
    const gw = await gatewayFor({ scheme: 'https', timeout: { connect: 0.1, send: 5, read: 5 }, nodes: { [`127.0.0.1:${silent.port}`]: 1 } });
    const started = Date.now();
    const reply = await request(gw.port);
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 504);
    assert.equal(reply.headers['x-apisix-upstream-status'], '504');
    assert.ok(elapsed >= 90 && elapsed < 1000, `took ${elapsed} ms`);
    const outcome = gw.outcomes[0];
    assert.ok(outcome?.kind === 'failed');
    assert.equal(outcome.reason, 'upstream timed out while connecting');
  });
});

describe('forward: retries', () => {
  test('retries a refused connection on the next node', async () => {
    const live = await upstreamNamed('live');
    const gw = await gatewayFor({ nodes: [{ host: '127.0.0.1', port: await closedPort(), weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] });
    const reply = await request(gw.port);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'live');
    const outcome = gw.outcomes[0];
    assert.ok(outcome?.kind === 'proxied');
    assert.equal(outcome.attempts, 2);
    assert.equal(outcome.upstreamStatus, '502, 200');
  });

  test('retries: 0 answers 502 after one refused attempt', async () => {
    const live = await upstreamNamed('live');
    const gw = await gatewayFor({ retries: 0, nodes: [{ host: '127.0.0.1', port: await closedPort(), weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] });
    const reply = await request(gw.port);
    assert.equal(reply.status, 502);
    assert.match(reply.body, /502 Bad Gateway/);
    assert.equal(reply.headers['x-apisix-upstream-status'], '502');
    assert.equal(live.connections, 0);
  });

  test('every node refused → 502 with one status per attempt', async () => {
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${await closedPort()}`]: 1, [`127.0.0.1:${await closedPort()}`]: 1 } });
    const reply = await request(gw.port);
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['x-apisix-upstream-status'], '502, 502');
    assert.equal(gw.outcomes[0]?.kind === 'failed' && gw.outcomes[0].attempts, 2);
  });

  test('retries beyond the node count stop when every node was tried (502)', async () => {
    const gw = await gatewayFor({ retries: 5, nodes: { [`127.0.0.1:${await closedPort()}`]: 1, [`127.0.0.1:${await closedPort()}`]: 1 } });
    const reply = await request(gw.port);
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['x-apisix-upstream-status'], '502, 502');
  });

  test('a single node is retried on itself', async () => {
    const reset = await resettingUpstream();
    const gw = await gatewayFor({ retries: 2, nodes: { [`127.0.0.1:${reset.port}`]: 1 } });
    assert.equal((await request(gw.port)).status, 502);
    assert.equal(reset.received(), 3);
  });

  test('an upstream 500 is relayed, never retried', async () => {
    const failing = await upstreamNamed('x', (_req, res) => res.writeHead(500).end('boom'));
    const live = await upstreamNamed('live');
    const gw = await gatewayFor({ nodes: [{ host: '127.0.0.1', port: failing.port, weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] });
    const reply = await request(gw.port);
    assert.equal(reply.status, 500);
    assert.equal(reply.body, 'boom');
    assert.equal(reply.headers['x-apisix-upstream-status'], '500');
    assert.equal(live.connections, 0);
  });

  test('a POST body is retried only if nothing was sent', async () => {
    const bodies: string[] = [];
    const live = await upstreamNamed('live', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        bodies.push(body);
        res.end('ok');
      });
    });
    // Refused connection: nothing was sent, so the body goes to the next node.
    const refused = await gatewayFor({ nodes: [{ host: '127.0.0.1', port: await closedPort(), weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] });
    const first = await request(refused.port, { method: 'POST', body: 'payload-1' });
    assert.equal(first.status, 200);
    assert.deepEqual(bodies, ['payload-1']);

    // The first node took the request and dropped it: a POST is not sent again.
    const reset = await resettingUpstream();
    const taken = await gatewayFor({ nodes: [{ host: '127.0.0.1', port: reset.port, weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] });
    const second = await request(taken.port, { method: 'POST', body: 'payload-2' });
    assert.equal(second.status, 502);
    assert.deepEqual(bodies, ['payload-1']);

    // A GET without body is idempotent: it is sent again.
    const idempotent = await gatewayFor({ nodes: [{ host: '127.0.0.1', port: reset.port, weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] });
    const third = await request(idempotent.port);
    assert.equal(third.status, 200);
    assert.equal(third.headers['x-apisix-upstream-status'], undefined);
    assert.equal(idempotent.outcomes[0]?.kind === 'proxied' && idempotent.outcomes[0].upstreamStatus, '502, 200');
  });

  test('priority groups: the lower group serves only after the higher one was tried', async () => {
    const low = await upstreamNamed('low');
    const high = await upstreamNamed('high');
    const gw = await gatewayFor({ nodes: [
      { host: '127.0.0.1', port: low.port, weight: 1, priority: -1 },
      { host: '127.0.0.1', port: high.port, weight: 1, priority: 1 },
    ] });
    assert.equal((await request(gw.port)).body, 'high');
    assert.equal((await request(gw.port)).body, 'high');
    await high.close();
    assert.equal((await request(gw.port)).body, 'low');
  });

  test('before_proxy runs per attempt with the picked node, and a verdict stops forwarding', async () => {
    const live = await upstreamNamed('live');
    const dead = await closedPort();
    const calls: string[] = [];
    const gw = await gatewayFor({ nodes: [{ host: '127.0.0.1', port: dead, weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }] }, {
      hooks: {
        beforeAttempt: async (node, attempt) => {
          calls.push(`${attempt}:${node.port}`);
          await new Promise((r) => setImmediate(r));
          return undefined;
        },
      },
    });
    assert.equal((await request(gw.port)).body, 'live');
    assert.deepEqual(calls, [`1:${dead}`, `2:${live.port}`]);

    const stopping = await gatewayFor({ nodes: { [`127.0.0.1:${live.port}`]: 1 } }, { hooks: { beforeAttempt: () => 'denied' } });
    const reply = await request(stopping.port);
    assert.equal(reply.status, 299);
    assert.equal(reply.body, 'denied');
    assert.deepEqual(stopping.outcomes[0], { kind: 'stopped', verdict: 'denied', attempts: 1 });
  });
});

describe('forward: timeouts', () => {
  test('read timeout → 504', async () => {
    const silent = await upstreamNamed('x', () => { /* never answers */ });
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${silent.port}`]: 1 }, timeout: { connect: 1, send: 1, read: 0.15 } });
    const started = Date.now();
    const reply = await request(gw.port);
    assert.equal(reply.status, 504);
    assert.match(reply.body, /504 Gateway Time-out/);
    assert.equal(reply.headers['x-apisix-upstream-status'], '504');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1000, `took ${elapsed} ms`);
  });

  test('a timeout then a refusal → 502; a refusal then a timeout → 504', async () => {
    const silent = await upstreamNamed('x', () => { /* never answers */ });
    const dead = await closedPort();
    const timeout = { connect: 1, send: 1, read: 0.1 };
    const timeoutFirst = await gatewayFor({ timeout, nodes: [{ host: '127.0.0.1', port: silent.port, weight: 1 }, { host: '127.0.0.1', port: dead, weight: 1 }] });
    const a = await request(timeoutFirst.port);
    assert.equal(a.status, 502);
    assert.equal(a.headers['x-apisix-upstream-status'], '504, 502');
    const refusalFirst = await gatewayFor({ timeout, nodes: [{ host: '127.0.0.1', port: dead, weight: 1 }, { host: '127.0.0.1', port: silent.port, weight: 1 }] });
    const b = await request(refusalFirst.port);
    assert.equal(b.status, 504);
    assert.equal(b.headers['x-apisix-upstream-status'], '502, 504');
  });

  test('the route timeout replaces the upstream timeout', async () => {
    const slow = await upstreamNamed('x', (_req, res) => setTimeout(() => res.end('late'), 300));
    const compiled = compile({ nodes: { [`127.0.0.1:${slow.port}`]: 1 }, timeout: { connect: 5, send: 5, read: 5 } }, { connect: 5, send: 5, read: 0.1 });
    const gw = await startGateway(compiled.upstream);
    cleanups.push(async () => {
      await gw.close();
      await compiled.dispose();
    });
    assert.equal((await request(gw.port)).status, 504);
  });

  test('retry_timeout: no retry starts once it has elapsed (502)', async () => {
    const silent = await upstreamNamed('x', () => { /* never answers */ });
    const live = await upstreamNamed('live');
    const gw = await gatewayFor({
      retry_timeout: 0.05,
      timeout: { connect: 1, send: 1, read: 0.2 },
      nodes: [{ host: '127.0.0.1', port: silent.port, weight: 1 }, { host: '127.0.0.1', port: live.port, weight: 1 }],
    });
    const reply = await request(gw.port);
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['x-apisix-upstream-status'], '504');
    assert.equal(live.connections, 0);
  });

  test('send timeout: an upstream that stops reading the body → 504', async () => {
    const stalled = await upstreamNamed('x', (req) => req.pause());
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${stalled.port}`]: 1 }, timeout: { connect: 1, send: 0.2, read: 10 } });
    const body = Readable.from((function* () {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let i = 0; i < 2048; i++) yield chunk; // up to 128 MiB, far beyond the socket buffers
    })());
    const started = Date.now();
    const reply = await request(gw.port, { method: 'POST', body, headers: { 'transfer-encoding': 'chunked' } }).catch((err: Error) => err);
    const outcome = gw.outcomes[0];
    assert.ok(outcome?.kind === 'failed', `outcome: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.status, 504);
    assert.match(outcome.reason, /sending/);
    assert.ok(Date.now() - started < 5000);
    if (!(reply instanceof Error)) assert.equal(reply.status, 504);
  });
});

describe('forward: streaming and aborts', () => {
  test('streams a large body both ways without buffering it', async (t) => {
    const SIZE = 192 * 1024 * 1024;
    const CHUNK = Buffer.alloc(256 * 1024, 0x62);
    const generate = (): Readable => Readable.from((function* () {
      for (let sent = 0; sent < SIZE; sent += CHUNK.length) yield CHUNK;
    })());
    let upstreamFirstByteAt = 0;
    let upstreamDoneSendingAt = 0;
    let received = 0;
    const up = await upstreamNamed('x', (req, res) => {
      req.on('data', (c: Buffer) => {
        if (received === 0) upstreamFirstByteAt = performance.now();
        received += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-length': String(SIZE) });
        res.on('finish', () => (upstreamDoneSendingAt = performance.now()));
        generate().pipe(res);
      });
    });
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    let clientDoneSendingAt = 0;
    let clientFirstByteAt = 0;
    const upload = generate();
    upload.on('end', () => (clientDoneSendingAt = performance.now()));
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10);
    const downloaded = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'PUT', path: '/', agent: false, headers: { 'content-length': String(SIZE) } }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          if (n === 0) clientFirstByteAt = performance.now();
          n += c.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      });
      req.on('error', reject);
      upload.pipe(req);
    });
    clearInterval(sampler);
    assert.equal(received, SIZE);
    assert.equal(downloaded, SIZE);
    assert.ok(upstreamFirstByteAt > 0 && upstreamFirstByteAt < clientDoneSendingAt, 'upstream received data before the client finished sending');
    assert.ok(clientFirstByteAt > 0 && clientFirstByteAt < upstreamDoneSendingAt, 'client received data before the upstream finished sending');
    // Buffering either body would grow RSS by its size; what remains is garbage awaiting collection.
    const growth = peakRss - rssBefore;
    t.diagnostic(`peak RSS growth ${(growth / 1048576).toFixed(1)} MiB for 2 × ${SIZE / 1048576} MiB`);
    assert.ok(growth < SIZE / 2, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });

  test('a client that goes away mid-response aborts the upstream request', async () => {
    let upstreamClosed = false;
    const up = await upstreamNamed('x', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('tick\n'), 5);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed = true;
      });
    });
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: gw.port, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => { /* destroyed on purpose */ });
      setTimeout(() => reject(new Error('no data')), 3000).unref();
    });
    await waitFor(() => upstreamClosed, 3000, 'upstream request to close');
    await waitFor(() => gw.outcomes.length === 1, 3000, 'outcome');
    const outcome = gw.outcomes[0];
    assert.ok(outcome?.kind === 'proxied');
    assert.equal(outcome.error?.constructor.name, 'ClientAbortedError');
  });

  test('a client that goes away before the response aborts the upstream request', async () => {
    let upstreamClosed = false;
    let arrived = false;
    const up = await upstreamNamed('x', (req) => {
      arrived = true;
      req.socket.on('close', () => (upstreamClosed = true));
    });
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    const socket = net.connect(gw.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => arrived, 3000, 'request to reach the upstream');
    socket.destroy();
    await waitFor(() => upstreamClosed, 3000, 'upstream connection to close');
    await waitFor(() => gw.outcomes.length === 1, 3000, 'outcome');
    assert.equal(gw.outcomes[0]?.kind, 'aborted');
  });

  test('an upstream failing mid-body truncates the client response', async () => {
    const up = await startRawUpstream((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial');
        setTimeout(() => socket.destroy(), 20);
      });
    });
    cleanups.push(() => up.close());
    const gw = await gatewayFor({ nodes: { [`127.0.0.1:${up.port}`]: 1 } });
    const result = await request(gw.port).then(() => 'complete', (err: Error) => err.message);
    assert.notEqual(result, 'complete');
    await waitFor(() => gw.outcomes.length === 1, 3000, 'outcome');
    const outcome = gw.outcomes[0];
    assert.ok(outcome?.kind === 'proxied');
    assert.equal(outcome.status, 200);
    assert.equal(outcome.error?.constructor.name, 'UpstreamBrokenResponseError');
  });
});
