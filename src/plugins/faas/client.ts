/**
 * The HTTP client of the FaaS plugins: one call = one buffered HTTP/1.1
 * exchange with a function, over keep-alive pools shaped like nginx's
 * cosocket pool that APISIX's lua-resty-http uses (spec/serverless.md §3.1):
 *
 * - one pool per (origin, connection options), shared by every route and
 *   plugin that calls the same origin the same way;
 * - `keepalive_pool` caps the **idle** connections a pool keeps, not the
 *   open ones: concurrent calls each get a connection, and when they finish
 *   the surplus is closed (an undici `Pool` would instead queue calls
 *   beyond its size, which is why each connection here is its own undici
 *   `Client`);
 * - an idle connection lives `keepalive_timeout` ms (less if the function's
 *   `Keep-Alive: timeout=` hint says so) and is dropped when the function
 *   closes it; `keepalive: false` sends `Connection: close` and never pools;
 * - `timeout` applies to each socket operation, not to the whole call: the
 *   connect, then the send plus the wait for the response head, then each
 *   wait for a body chunk. The timers are native (undici's own header/body
 *   timers run on a ~1 s grid, too coarse for a 100 ms minimum).
 *
 * Pools hold no connection once all are closed; an empty pool leaves the
 * registry, so pools of removed routes do not accumulate.
 */
import { Client, buildConnector, errors, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { FngateError, errorMessage } from '../../errors.js';
import type { ConnectionOptions } from './schema.js';
import { withConnectTimeout } from './connect-timeout.js';

/** What to send: the request-target (path and query), header fields and body. */
export interface FunctionRequest {
  readonly method: string;
  /** Request-target: an absolute path, optionally with `?query`, already percent-encoded. */
  readonly path: string;
  /** Header fields; names lower-case. Must not carry hop-by-hop fields, Content-Length or Expect. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The body; `Content-Length` is computed from it (`0` for POST/PUT/PATCH without one). */
  readonly body?: Buffer | undefined;
}

/** The function's answer, fully read. */
export interface FunctionResponse {
  readonly status: number;
  /** As received: lower-case names, repeated fields as arrays, hop-by-hop fields included. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * The call failed before a complete response arrived (connect, DNS, TLS,
 * timeout, connection closed). `reason` is the short text APISIX's HTTP
 * client would give (`timeout`, `connection refused`, ...), for the log
 * line `failed to process <plugin>, err: <reason>`.
 */
export class FunctionCallError extends FngateError {
  readonly code = 'FAAS_CALL_FAILED';
  constructor(readonly reason: string, cause?: unknown) {
    super(reason, { cause });
  }
}

/** A socket operation took longer than `timeout`. */
class OperationTimeoutError extends FngateError {
  readonly code = 'FAAS_TIMEOUT';
  constructor(what: string, timeoutMs: number) {
    super(`${what} timed out after ${timeoutMs} ms`);
  }
}

/**
 * A function origin called with fixed connection options. Cheap to keep in
 * a compiled configuration: connections live in the shared pool registry.
 *
 * @example
 *   const endpoint = new FunctionEndpoint('http://127.0.0.1:8080', { timeout: 3000, ssl_verify: true,
 *     keepalive: true, keepalive_timeout: 60000, keepalive_pool: 5 });
 *   const res = await endpoint.send({ method: 'GET', path: '/hello', headers: { host: '127.0.0.1' } });
 *   res.status; res.body.toString();
 */
export class FunctionEndpoint {
  /** `scheme://host[:port]`. */
  readonly origin: string;
  readonly options: ConnectionOptions;
  readonly #key: string;

  /** @param origin `http(s)://host[:port]` (a path is ignored). */
  constructor(origin: string, options: ConnectionOptions) {
    this.origin = new URL(origin).origin;
    this.options = Object.freeze({
      timeout: options.timeout,
      ssl_verify: options.ssl_verify,
      keepalive: options.keepalive,
      keepalive_timeout: options.keepalive_timeout,
      keepalive_pool: options.keepalive_pool,
    });
    const o = this.options;
    this.#key = `${this.origin}|${o.timeout}|${o.ssl_verify}|${o.keepalive}|${o.keepalive_timeout}|${o.keepalive_pool}`;
  }

  /**
   * Send one request and read the whole response. Rejects with
   * {@link FunctionCallError} when no complete response arrived; any HTTP
   * status (4xx/5xx included) resolves.
   */
  send(request: FunctionRequest): Promise<FunctionResponse> {
    let pool = pools.get(this.#key);
    if (pool === undefined) {
      pool = new ConnectionPool(this.#key, this.origin, this.options);
      pools.set(this.#key, pool);
    }
    return pool.send(request);
  }
}

/** Close every pooled connection (tests, shutdown). Calls in flight finish first. */
export async function closeFunctionConnections(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((pool) => pool.close()));
}

/** Pools by origin and options; a pool removes itself once it holds no connection. */
const pools = new Map<string, ConnectionPool>();

/** One undici Client is one connection (pipelining 1), tracked for the idle list. */
interface Connection {
  readonly client: Client;
  connected: boolean;
  idle: boolean;
}

class ConnectionPool {
  /** Idle connections, most recently used last (LIFO, as nginx reuses them). */
  readonly #idle: Connection[] = [];
  #busy = 0;
  #closed = false;
  readonly #connect: buildConnector.connector;

  constructor(readonly key: string, readonly origin: string, readonly options: ConnectionOptions) {
    const tls = origin.startsWith('https:');
    // SNI is the Host sent (undici derives it per request; none for IP literals, RFC 6066 §3).
    const base = buildConnector(tls ? { rejectUnauthorized: options.ssl_verify, timeout: 0 } : { timeout: 0 });
    this.#connect = withConnectTimeout(base, options.timeout);
  }

  send(request: FunctionRequest): Promise<FunctionResponse> {
    const connection = this.#idle.pop() ?? this.#open();
    connection.idle = false;
    this.#busy += 1;
    return exchange(connection.client, request, this.options).then(
      (response) => {
        this.#release(connection, true);
        return response;
      },
      (err: unknown) => {
        this.#release(connection, false);
        throw err;
      },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((c) => c.client.close()));
  }

  #open(): Connection {
    const o = this.options;
    const client = new Client(this.origin, {
      connect: this.#connect,
      pipelining: 1,
      keepAliveTimeout: o.keepalive_timeout,
      // Never longer than configured, whatever the function's Keep-Alive hint says.
      keepAliveMaxTimeout: o.keepalive_timeout,
      // The per-operation timers are ours (see exchange()).
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const connection: Connection = { client, connected: false, idle: false };
    client.on('connect', () => {
      connection.connected = true;
    });
    client.on('disconnect', () => {
      connection.connected = false;
      // The function (or the idle timer) closed a pooled connection: forget it.
      if (connection.idle) this.#drop(connection);
    });
    return connection;
  }

  #release(connection: Connection, reusable: boolean): void {
    this.#busy -= 1;
    if (reusable && connection.connected && this.options.keepalive && !this.#closed && this.#idle.length < this.options.keepalive_pool) {
      connection.idle = true;
      this.#idle.push(connection);
      return;
    }
    void connection.client.destroy().catch(() => undefined);
    this.#leaveIfEmpty();
  }

  #drop(connection: Connection): void {
    const at = this.#idle.indexOf(connection);
    if (at !== -1) this.#idle.splice(at, 1);
    connection.idle = false;
    void connection.client.destroy().catch(() => undefined);
    this.#leaveIfEmpty();
  }

  #leaveIfEmpty(): void {
    if (this.#busy === 0 && this.#idle.length === 0 && pools.get(this.key) === this) pools.delete(this.key);
  }
}

/**
 * Dispatch one request on `client` and buffer the response, with a native
 * timer restarted at each socket operation.
 */
function exchange(client: Client, request: FunctionRequest, options: ConnectionOptions): Promise<FunctionResponse> {
  return new Promise((resolve, reject) => {
    const handler = new BufferingHandler(options.timeout, resolve, reject);
    client.dispatch(
      {
        method: request.method,
        path: request.path,
        headers: request.headers as Record<string, string | string[]>,
        body: request.body ?? null,
        // keepalive off: `Connection: close`, and undici closes the socket after the response.
        reset: options.keepalive ? undefined : true,
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
  });
}

/** Collects one response; fails it when an operation outlives the timeout. */
class BufferingHandler implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #settled = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly resolve: (response: FunctionResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** The connection is up and the request is about to be written: the send + wait for the head starts. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#timer = setTimeout(() => controller.abort(new OperationTimeoutError('function call', this.timeoutMs)), this.timeoutMs);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx heads are interim; the final one replaces them.
    this.#status = statusCode;
    this.#headers = headers;
    this.#timer?.refresh();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    this.#timer?.refresh();
  }

  onResponseEnd(): void {
    this.#finish();
    if (this.#settled) return;
    this.#settled = true;
    this.resolve({ status: this.#status, headers: this.#headers, body: Buffer.concat(this.#chunks, this.#size) });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#finish();
    if (this.#settled) return;
    this.#settled = true;
    this.reject(new FunctionCallError(describeFailure(err), err));
  }

  #finish(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const TLS_CODE = /CERT|SSL|TLS|SIGNATURE|ISSUER|HOSTNAME|ALTNAME/;

/**
 * The reason text of a failed call, worded as OpenResty's cosocket errors
 * that APISIX logs (`timeout`, `connection refused`, `closed`, ...), so
 * log alerts written for APISIX keep matching.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof OperationTimeoutError || err instanceof errors.ConnectTimeoutError) return 'timeout';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    switch (code) {
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ECONNRESET':
      case 'EPIPE':
        return 'connection reset by peer';
      case 'UND_ERR_SOCKET':
        return 'closed';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
      case 'EAI_FAIL': {
        const host = (err as { hostname?: unknown }).hostname;
        return `${typeof host === 'string' ? host : 'host'} could not be resolved`;
      }
      case 'UND_ERR_INVALID_ARG':
        return `invalid request: ${errorMessage(err)}`;
    }
    if (TLS_CODE.test(code)) return `handshake failed: ${errorMessage(err)}`;
  }
  return errorMessage(err);
}
