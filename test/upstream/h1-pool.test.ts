/**
 * The proxy's HTTP/1.1 client against real loopback servers: framing of
 * request bodies, keep-alive reuse and its limits, the connection cap and
 * queue, stale keep-alive connections, backpressure, and what makes a
 * connection unfit for reuse.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { PassThrough, Readable } from 'node:stream';
import { H1Pool, type PoolSettings } from '../../src/upstream/h1/pool.js';
import type { ExchangeHandler, ExchangeOptions } from '../../src/upstream/h1/types.js';
import { selfSignedCert } from '../doubles/self-signed-cert.js';
import { startRawUpstream, startUpstream, waitFor } from './helpers.js';

const SETTINGS: PoolSettings = { size: 8, idleTimeoutMs: 60_000, maxRequests: 1000, connectTimeoutMs: 2000 };

interface Result {
  status: number;
  headers: string[];
  body: string;
  events: string[];
}

/** A handler that records what happens; resolves on complete, rejects on error. */
function collect(hooks: { onData?: (chunk: Buffer, resume: () => void) => boolean; onConnect?: (abort: (err: Error) => void) => void } = {}): {
  handler: ExchangeHandler;
  done: Promise<Result>;
} {
  const result: Result = { status: 0, headers: [], body: '', events: [] };
  let resume: () => void = () => {};
  let resolve!: (r: Result) => void;
  let reject!: (err: Error) => void;
  const done = new Promise<Result>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const handler: ExchangeHandler = {
    onConnect(abort) {
      result.events.push('connect');
      hooks.onConnect?.(abort);
    },
    onRequestSent() {
      result.events.push('sent');
    },
    onHeaders(status, headers, resumeFn) {
      result.status = status;
      result.headers = headers;
      resume = resumeFn;
      result.events.push('headers');
      return true;
    },
    onData(chunk) {
      result.body += chunk.toString('latin1');
      return hooks.onData ? hooks.onData(chunk, resume) : true;
    },
    onComplete() {
      result.events.push('complete');
      resolve(result);
    },
    onError(err) {
      result.events.push('error');
      reject(err);
    },
  };
  return { handler, done };
}

function get(path = '/', extra: Partial<ExchangeOptions> = {}): ExchangeOptions {
  return { method: 'GET', path, headers: [], body: null, replayable: true, ...extra };
}

function send(pool: H1Pool, options: ExchangeOptions): Promise<Result> {
  const { handler, done } = collect();
  pool.dispatch(options, handler);
  return done;
}

/** An upstream that echoes method, framing headers and body as JSON. */
async function echoUpstream(): Promise<Awaited<ReturnType<typeof startUpstream>> & { requests: http.IncomingHttpHeaders[] }> {
  const requests: http.IncomingHttpHeaders[] = [];
  const up = await startUpstream((req, res) => {
    requests.push(req.headers);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        method: req.method,
        url: req.url,
        host: req.headers.host,
        contentLength: req.headers['content-length'] ?? null,
        transferEncoding: req.headers['transfer-encoding'] ?? null,
        connection: req.headers.connection ?? null,
        body: Buffer.concat(parts).toString(),
      }));
    });
  });
  return Object.assign(up, { requests });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function pool(port: number, settings: Partial<PoolSettings> = {}): H1Pool {
  const p = new H1Pool({ scheme: 'http', host: '127.0.0.1', port }, { ...SETTINGS, ...settings });
  cleanups.push(() => p.destroy());
  return p;
}

describe('H1Pool: requests', () => {
  test('frames each kind of body, and sends Host from the origin unless given', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port);

    const plain = JSON.parse((await send(p, get('/a?b=1', { headers: ['Accept', '*/*'] }))).body);
    assert.deepEqual(plain, {
      method: 'GET', url: '/a?b=1', host: `127.0.0.1:${up.port}`, contentLength: null, transferEncoding: null, connection: null, body: '',
    });

    const emptyPost = JSON.parse((await send(p, get('/', { method: 'POST' }))).body);
    assert.equal(emptyPost.contentLength, '0', 'POST without body says Content-Length: 0');

    const buffered = JSON.parse((await send(p, get('/', {
      method: 'PUT', body: Buffer.from('hello'), headers: ['Content-Length', '99', 'Transfer-Encoding', 'chunked', 'Host', 'given.example'],
    }))).body);
    assert.equal(buffered.contentLength, '5', 'a buffer is sent with its own length, whatever the caller said');
    assert.equal(buffered.transferEncoding, null);
    assert.equal(buffered.host, 'given.example');
    assert.equal(buffered.body, 'hello');

    const chunked = JSON.parse((await send(p, get('/', { method: 'POST', body: Readable.from([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cd')]) }))).body);
    assert.equal(chunked.transferEncoding, 'chunked', 'a stream without a length is chunked');
    assert.equal(chunked.body, 'abcd', 'an empty piece does not end the chunked body');

    const sized = JSON.parse((await send(p, get('/', {
      method: 'POST', headers: ['content-length', '4'], body: Readable.from([Buffer.from('wx'), Buffer.from('yz')]),
    }))).body);
    assert.equal(sized.contentLength, '4');
    assert.equal(sized.transferEncoding, null);
    assert.equal(sized.body, 'wxyz');
    assert.equal(up.connections, 1, 'every exchange reused the one connection');
  });

  test('refuses headers and targets that would break the framing, without connecting', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port);
    for (const options of [
      get('/', { headers: ['X-A', 'v\r\nX-Injected: 1'] }),
      get('/', { headers: ['Bad Name', 'v'] }),
      get('/a b'),
      get('/', { method: 'GET /x' }),
    ]) {
      await assert.rejects(send(p, options), (err: Error & { code?: string }) => err.code === 'UPSTREAM_INVALID_REQUEST');
    }
    assert.equal(p.connections, 0);
    assert.equal(up.connections, 0);
  });

  test('a stream body longer than its Content-Length fails the exchange', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port);
    await assert.rejects(
      send(p, get('/', { method: 'POST', headers: ['Content-Length', '2'], body: Readable.from([Buffer.from('abc')]) })),
      (err: Error & { code?: string }) => err.code === 'UPSTREAM_REQUEST_LENGTH_MISMATCH',
    );
  });

  test('a body stream that already failed fails the exchange instead of hanging', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port);
    const body = new PassThrough();
    body.on('error', () => {});
    body.destroy(new Error('cut off'));
    await assert.rejects(send(p, get('/', { method: 'POST', body })), (err: Error & { code?: string }) =>
      err.code === 'UPSTREAM_REQUEST_BODY_ABORTED' && (err.cause as Error).message === 'cut off');
  });

  test('HEAD responses carry no body and keep the connection', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.end();
    });
    cleanups.push(() => up.close());
    const p = pool(up.port);
    const head = await send(p, get('/', { method: 'HEAD' }));
    assert.equal(head.body, '');
    await send(p, get('/', { method: 'HEAD' }));
    assert.equal(up.connections, 1);
  });

  test('body backpressure: returning false pauses the socket until resume()', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'z');
    const up = await startUpstream((_req, res) => res.end(big));
    cleanups.push(() => up.close());
    const p = pool(up.port);
    let paused = 0;
    let resumeLater: (() => void) | undefined;
    const { handler, done } = collect({
      onData: (_chunk, resume) => {
        if (paused < 3) {
          paused += 1;
          resumeLater = resume;
          setTimeout(() => resumeLater?.(), 5);
          return false;
        }
        return true;
      },
    });
    p.dispatch(get('/'), handler);
    const result = await done;
    assert.equal(result.body.length, big.length);
    assert.equal(paused, 3);
  });
});

describe('H1Pool: connections', () => {
  test('keepalive requests cap: a connection serves maxRequests exchanges, then closes', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port, { maxRequests: 2 });
    for (let i = 0; i < 5; i++) await send(p, get());
    assert.equal(up.connections, 3);
  });

  test('no reuse configured: Connection: close on every request, a connection each', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port, { idleTimeoutMs: 0 });
    const first = JSON.parse((await send(p, get())).body);
    await send(p, get());
    assert.equal(first.connection, 'close');
    assert.equal(up.connections, 2);
    await waitFor(() => p.connections === 0, 2000, 'connections to close');
  });

  test('idle connections close after the idle timeout, or 1 s before the upstream\'s Keep-Alive hint', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const short = pool(up.port, { idleTimeoutMs: 50 });
    await send(short, get());
    assert.equal(short.idle, 1);
    await waitFor(() => short.idle === 0 && short.connections === 0, 2000, 'the idle connection to time out');

    // Node's server says `Keep-Alive: timeout=5`: kept ~4 s, well under the configured minute.
    const hinted = pool(up.port);
    await send(hinted, get());
    assert.equal(hinted.idle, 1);
    const raw = await startRawUpstream((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nKeep-Alive: timeout=1\r\n\r\n'));
    });
    cleanups.push(() => raw.close());
    const tooShort = pool(raw.port);
    await send(tooShort, get());
    assert.equal(tooShort.idle, 0, 'a hint of 1 s leaves no safe idle time: closed at once');
  });

  test('at most `size` connections; the rest queue in order', async () => {
    const release: (() => void)[] = [];
    const up = await startUpstream((req, res) => {
      release.push(() => res.end(req.url));
    });
    cleanups.push(() => up.close());
    const p = pool(up.port, { size: 2 });
    const replies = ['/1', '/2', '/3', '/4'].map((path) => send(p, get(path)));
    await waitFor(() => release.length === 2, 2000, 'two requests at the upstream');
    assert.equal(p.queued, 2);
    assert.equal(p.connections, 2);
    while (release.length > 0 || p.queued > 0) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    const bodies = (await Promise.all(replies)).map((r) => r.body);
    assert.deepEqual(bodies, ['/1', '/2', '/3', '/4']);
    assert.equal(up.connections, 2);
  });

  test('a stale keep-alive connection is replayed once on a new one, only when replayable', async () => {
    // The upstream answers the first request of each connection and drops the connection at the second.
    const up = await startRawUpstream((socket) => {
      let seen = 0;
      socket.on('data', () => {
        seen += 1;
        if (seen === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
    });
    cleanups.push(() => up.close());
    const p = pool(up.port);
    await send(p, get());
    const replayed = await send(p, get());
    assert.equal(replayed.body, 'ok');
    assert.deepEqual(replayed.events, ['connect', 'sent', 'connect', 'sent', 'headers', 'complete']);

    await assert.rejects(send(p, get('/', { method: 'POST', replayable: false })), (err: Error & { code?: string }) =>
      err.code === 'ECONNRESET' || err.code === 'UPSTREAM_CONNECTION_CLOSED');
  });

  test('bytes after the response, or an early response to an unfinished body, retire the connection', async () => {
    const extra = await startRawUpstream((socket) => {
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK'));
    });
    cleanups.push(() => extra.close());
    const p = pool(extra.port);
    assert.equal((await send(p, get())).body, 'ok');
    assert.equal(p.idle, 0);

    const early = await startUpstream((_req, res) => {
      res.writeHead(413, { 'content-length': '0' });
      res.end();
    });
    cleanups.push(() => early.close());
    const q = pool(early.port);
    const body = new PassThrough();
    body.write('part');
    const result = await send(q, get('/', { method: 'POST', body }));
    assert.equal(result.status, 413);
    assert.equal(q.idle, 0, 'the request body was not finished: not reusable');
    body.end('rest');
  });

  test('a close-delimited body ends at EOF; Connection: close and HTTP/1.0 retire the connection', async () => {
    const answers = [
      'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
      'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ];
    let served = 0;
    const up = await startRawUpstream((socket) => {
      socket.once('data', () => {
        const answer = answers[served++]!;
        // The close-delimited answer ends with FIN; the others leave closing to the client.
        if (served === 1) socket.end(answer);
        else socket.write(answer);
      });
    });
    cleanups.push(() => up.close());
    const p = pool(up.port);
    assert.equal((await send(p, get())).body, 'until the end');
    assert.equal(p.idle, 0);
    assert.equal((await send(p, get())).body, 'ok');
    assert.equal(p.idle, 0, 'Connection: close');
    assert.equal((await send(p, get())).body, 'ok');
    assert.equal(p.idle, 0, 'HTTP/1.0 without keep-alive');
    await waitFor(() => p.connections === 0, 2000, 'connections to close');
  });

  test('an abort inside onConnect leaves the connection clean and idle', async () => {
    const up = await echoUpstream();
    cleanups.push(() => up.close());
    const p = pool(up.port);
    const { handler, done } = collect({ onConnect: (abort) => abort(new Error('client left')) });
    p.dispatch(get(), handler);
    await assert.rejects(done, /client left/);
    await waitFor(() => p.idle === 1, 2000, 'the connection to become idle');
    assert.equal(JSON.parse((await send(p, get('/after'))).body).url, '/after');
    assert.equal(up.connections, 1);
    assert.equal(up.requests.length, 1, 'the aborted request never reached the upstream');
  });

  test('TLS: an idle connection is reused only for the same server name; at the cap another name takes its place', async () => {
    const seen: Array<{ sni: string | false | null; connection: number }> = [];
    const numbers = new WeakMap<object, number>();
    let accepted = 0;
    const cert = selfSignedCert();
    const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      seen.push({ sni: (req.socket as TLSSocket).servername, connection: numbers.get(req.socket) ?? 0 });
      res.end('secure');
    });
    server.on('secureConnection', (socket) => numbers.set(socket, ++accepted));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const port = (server.address() as AddressInfo).port;
    const p = new H1Pool({ scheme: 'https', host: '127.0.0.1', port }, { ...SETTINGS, size: 1 });
    cleanups.push(() => p.destroy());
    const as = (host: string) => send(p, get('/', { headers: ['Host', host] }));
    await as('a.example');
    await as('a.example');
    await as('b.example:8443');
    await as('a.example');
    assert.deepEqual(seen, [
      { sni: 'a.example', connection: 1 },
      { sni: 'a.example', connection: 1 },
      // size 1: the idle a.example connection gives way to a new one for b.example (port dropped from the name).
      { sni: 'b.example', connection: 2 },
      { sni: 'a.example', connection: 3 },
    ]);
    assert.equal(p.connections, 1);
  });

  test('connect timeout', async () => {
    // A TLS handshake to a server that never answers: connected in TCP terms, never ready.
    const silent = await startRawUpstream((socket: net.Socket) => socket.on('data', () => {}));
    cleanups.push(() => silent.close());
    const p = new H1Pool({ scheme: 'https', host: '127.0.0.1', port: silent.port }, { ...SETTINGS, connectTimeoutMs: 100 });
    cleanups.push(() => p.destroy());
    const started = Date.now();
    await assert.rejects(send(p, get()), (err: Error & { code?: string }) => err.code === 'UPSTREAM_CONNECT_TIMEOUT');
    assert.ok(Date.now() - started < 1500);
    assert.equal(p.connections, 0);
  });

  test('close() fails queued requests, lets running ones finish, then resolves', async () => {
    let finish: (() => void) | undefined;
    const up = await startUpstream((_req, res) => {
      finish = () => res.end('done');
    });
    cleanups.push(() => up.close());
    const p = pool(up.port, { size: 1 });
    const running = send(p, get());
    const queued = send(p, get());
    await waitFor(() => finish !== undefined, 2000, 'the first request at the upstream');
    const closing = p.close();
    await assert.rejects(queued, (err: Error & { code?: string }) => err.code === 'UPSTREAM_POOL_CLOSED');
    await assert.rejects(send(p, get()), (err: Error & { code?: string }) => err.code === 'UPSTREAM_POOL_CLOSED');
    finish!();
    assert.equal((await running).body, 'done');
    await closing;
    assert.equal(p.connections, 0);
  });
});
