/**
 * Loopback servers for the upstream tests: real upstreams on 127.0.0.1:0, a
 * minimal gateway that forwards with forward(), and a client helper.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { compileUpstream } from '../../src/upstream/compile.js';
import { forward } from '../../src/upstream/forward.js';
import { buildUpstreamHeaders, requestHasBody, type ProxyHeaderOptions } from '../../src/upstream/headers.js';
import { PoolManager } from '../../src/upstream/pools.js';
import type {
  CompiledUpstream,
  ForwardHooks,
  ForwardOutcome,
  ResponseHeaders,
  TimeoutConf,
  UpstreamConf,
} from '../../src/upstream/types.js';
import { ERROR_PAGE_CONTENT_TYPE, errorPage } from '../../src/http/error-page.js';

export const DEFAULTS = { keepalive: 320, keepalive_requests: 1000, keepalive_timeout: 60 };

export interface Upstream {
  readonly port: number;
  readonly server: http.Server;
  /** TCP connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** An upstream http server on a free loopback port. */
export async function startUpstream(handler: http.RequestListener): Promise<Upstream> {
  const server = http.createServer(handler);
  const upstream: Upstream = {
    port: 0,
    server,
    connections: 0,
    close: () => closeServer(server),
  };
  server.on('connection', () => {
    upstream.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (upstream as { port: number }).port = (server.address() as AddressInfo).port;
  return upstream;
}

/** A raw TCP upstream, for responses Node's http server would not produce. */
export async function startRawUpstream(onSocket: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return closeServer(server);
    },
  };
}

export function closeServer(server: net.Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A loopback port with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface GatewayOptions {
  readonly headerOptions?: ProxyHeaderOptions;
  readonly hooks?: Partial<ForwardHooks>;
}

export interface Gateway {
  readonly port: number;
  readonly outcomes: ForwardOutcome[];
  /** Headers handed to onResponse, per request. */
  readonly responseHeaders: ResponseHeaders[];
  close(): Promise<void>;
}

/** A minimal gateway: every request is forwarded to `upstream`; failures get the error page. */
export async function startGateway(upstream: CompiledUpstream, options: GatewayOptions = {}): Promise<Gateway> {
  const outcomes: ForwardOutcome[] = [];
  const responseHeaders: ResponseHeaders[] = [];
  const server = http.createServer((req, res) => {
    const host = req.headers.host ?? '';
    const headers = buildUpstreamHeaders(
      req.rawHeaders,
      { remoteAddr: req.socket.remoteAddress ?? '', scheme: 'http', host, serverPort: req.socket.localPort ?? 0 },
      options.headerOptions ?? {},
    );
    forward(upstream, {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      clientHost: host,
      body: requestHasBody(req.rawHeaders) ? req : null,
      vars: (name) => (name.startsWith('arg_') ? new URL(req.url ?? '/', 'http://x').searchParams.get(name.slice(4)) ?? undefined : undefined),
      remoteAddr: req.socket.remoteAddress ?? '',
      client: res,
    }, {
      ...options.hooks,
      onResponse: (status, h, info) => {
        responseHeaders.push({ ...h });
        if (status >= 500) h['x-apisix-upstream-status'] = info.upstreamStatus;
        return options.hooks?.onResponse?.(status, h, info) ?? res.writeHead(status, h);
      },
    }).then((outcome) => {
      outcomes.push(outcome);
      if (outcome.kind === 'failed') {
        res.writeHead(outcome.status, { 'content-type': ERROR_PAGE_CONTENT_TYPE, 'x-apisix-upstream-status': outcome.upstreamStatus });
        res.end(errorPage(outcome.status));
      } else if (outcome.kind === 'stopped') {
        res.writeHead(299).end(String(outcome.verdict));
      }
    }, (err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    outcomes,
    responseHeaders,
    close: () => closeServer(server),
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a fresh connection. */
export function request(
  port: number,
  options: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders | string[]; body?: string | Buffer | Readable } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: options.method ?? 'GET',
      path: options.path ?? '/',
      headers: options.headers,
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** Poll until `check` is true (or fail after `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Compile with a private pool manager; `dispose` releases and closes it. */
export function compile(
  conf: UpstreamConf,
  routeTimeout?: TimeoutConf,
): { upstream: CompiledUpstream; pools: PoolManager; dispose(): Promise<void> } {
  const pools = new PoolManager({ lingerMs: 0 });
  const upstream = compileUpstream(conf, { pools, defaults: DEFAULTS, ...(routeTimeout ? { routeTimeout } : {}) });
  return {
    upstream,
    pools,
    dispose: async () => {
      upstream.release();
      await pools.close();
    },
  };
}

/** Send raw request bytes; resolve with the status line, lower-cased headers and body of a Content-Length response. */
export function rawExchange(port: number, text: string): Promise<{ statusLine: string; headers: Map<string, string[]>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string[]>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      const length = Number(headers.get('content-length')?.[0] ?? 0);
      if (data.length - end - 4 < length) return;
      socket.destroy();
      resolve({ statusLine: lines[0] ?? '', headers, body: data.subarray(end + 4, end + 4 + length).toString() });
    });
    socket.on('error', reject);
    socket.write(text);
  });
}
