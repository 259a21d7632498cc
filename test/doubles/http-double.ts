/**
 * The part every platform double shares: a real HTTP(S) server on
 * 127.0.0.1 that records each request exactly as it arrived (method, raw
 * target, raw header list, body, connection), counts TCP connections, and
 * has fault switches a test flips at runtime (delay, connection reset,
 * fixed status). The platform modules only decide the answers.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { startLoopbackServer } from './loopback-server.js';

export interface RecordedRequest {
  readonly method: string;
  /** Request-target as received (`/api/x?a=1`). */
  readonly target: string;
  /** Path part of the target, still percent-encoded. */
  readonly path: string;
  /** Raw query string without `?`; '' when the target has none. */
  readonly query: string;
  /** True when the target ends in a bare `?`. */
  readonly emptyQueryMark: boolean;
  /** Node's parsed headers (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** Every header line in order, names as sent: `[name, value, ...]`. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** Number (1-based) of the TCP connection the request came on. */
  readonly connection: number;
}

/** An answer, headers in the order the platform writes them. */
export interface Reply {
  readonly status: number;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: string | Buffer;
}

/** Runtime switches; a test sets them and resets them with `reset()`. */
export interface Faults {
  /** Wait this long before answering (the request is recorded first). */
  delayMs: number;
  /** Destroy the connection instead of answering (after the delay). */
  reset: boolean;
  /** Answer with this status (through the platform's `faultReply`) instead of the normal answer. */
  status: number | undefined;
}

export interface HttpDouble {
  readonly server: Server;
  readonly port: number;
  /** `http(s)://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  readonly faults: Faults;
  /** TCP connections accepted so far. */
  connections(): number;
  /** TCP connections open now. */
  openConnections(): number;
  /** The last recorded request (fails the test when there is none). */
  last(): RecordedRequest;
  /** Clear the recorded requests and the fault switches. */
  reset(): void;
  close(): Promise<void>;
}

export interface HttpDoubleOptions {
  /** Serve HTTPS with this certificate (see self-signed-cert.ts). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The platform's answer for `faults.status` (default: that status, empty body). */
  readonly faultReply?: (status: number) => Reply;
}

export type ReplyFunction = (request: RecordedRequest) => Reply | Promise<Reply>;

function parseTarget(target: string): { path: string; query: string; emptyQueryMark: boolean } {
  const mark = target.indexOf('?');
  if (mark === -1) return { path: target, query: '', emptyQueryMark: false };
  return { path: target.slice(0, mark), query: target.slice(mark + 1), emptyQueryMark: mark === target.length - 1 };
}

function write(res: ServerResponse, reply: Reply): void {
  const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
  const flat: string[] = [];
  let hasLength = false;
  for (const [name, value] of reply.headers ?? []) {
    flat.push(name, value);
    if (name.toLowerCase() === 'content-length') hasLength = true;
  }
  if (!hasLength) flat.push('Content-Length', String(body.length));
  res.writeHead(reply.status, flat);
  res.end(body);
}

/**
 * @example
 *   const double = await startHttpDouble(() => ({ status: 200, body: 'hi' }));
 *   double.faults.delayMs = 500;
 *   await double.close();
 */
export async function startHttpDouble(answer: ReplyFunction, options: HttpDoubleOptions = {}): Promise<HttpDouble> {
  const requests: RecordedRequest[] = [];
  const faults: Faults = { delayMs: 0, reset: false, status: undefined };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.url ?? '';
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        target,
        ...parseTarget(target),
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        connection: server.connectionOf(req.socket),
      };
      requests.push(recorded);
      void respond(recorded, req, res);
    });
  };

  const respond = async (recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse) => {
    const { delayMs, reset, status } = faults;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (req.socket.destroyed) return;
    if (reset) {
      // An abortive close (RST) rather than a FIN, as a crashed host looks.
      req.socket.resetAndDestroy();
      return;
    }
    try {
      const reply = status !== undefined ? (options.faultReply?.(status) ?? { status }) : await answer(recorded);
      write(res, reply);
    } catch {
      if (!res.headersSent) write(res, { status: 500 });
    }
  };

  const server = await startLoopbackServer(handle, options.tls ? { tls: options.tls } : {});

  return {
    server: server.server,
    port: server.port,
    origin: server.origin,
    requests,
    faults,
    connections: server.connections,
    openConnections: server.openConnections,
    last() {
      const request = requests.at(-1);
      if (request === undefined) throw new Error('the double received no request');
      return request;
    },
    reset() {
      requests.length = 0;
      faults.delayMs = 0;
      faults.reset = false;
      faults.status = undefined;
    },
    close: server.close,
  };
}
