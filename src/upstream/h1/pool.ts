/**
 * Keep-alive connections to one upstream origin (nginx's per-worker
 * `keepalive` cache, plus a cap on open connections), for the proxy's hot
 * path. Built instead of undici's Pool because the proxy needs only one
 * thing from a client, and doing just that costs much less: a bare
 * `node:http` forwarder measured ~33 µs of CPU per request through undici
 * and ~21 µs through raw keep-alive sockets with this parser
 * (docs/architecture.md, "The upstream client").
 *
 * - At most `size` connections are open; more requests wait in FIFO order.
 * - An idle connection is reused most-recently-used first (the others can
 *   time out), closed after `idleTimeoutMs` idle, or earlier than the
 *   upstream's `Keep-Alive: timeout` hint (less 1 s, so we never race the
 *   upstream closing it), and after `maxRequests` exchanges.
 * - `idleTimeoutMs` 0 or `maxRequests` ≤ 1: every request says
 *   `Connection: close` and its connection is closed after it.
 * - TLS: certificates are not verified (APISIX's default `proxy_ssl_verify
 *   off`); SNI is the Host sent, except for IP literals (RFC 6066 §3), and
 *   an idle connection is only reused for the same server name.
 */
import { maxHeaderSize } from 'node:http';
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { H1Connection, type ConnectionOwner, type Exchange } from './connection.js';
import { UpstreamPoolClosedError } from './errors.js';
import { prepareRequest, type PreparedRequest } from './request-head.js';
import type { ExchangeHandler, ExchangeOptions } from './types.js';

export interface PoolSettings {
  /** Maximum connections to the origin (`keepalive_pool.size`). */
  readonly size: number;
  /** Idle keep-alive time in ms (`keepalive_pool.idle_timeout`); 0 = close after each request. */
  readonly idleTimeoutMs: number;
  /** Requests per connection before it is closed (`keepalive_pool.requests`). */
  readonly maxRequests: number;
  /** TCP (+TLS) connect timeout in ms (`timeout.connect`); 0 = none. */
  readonly connectTimeoutMs: number;
}

export interface PoolOrigin {
  readonly scheme: 'http' | 'https';
  /** Host name or IP; IPv6 with or without brackets. */
  readonly host: string;
  readonly port: number;
}

/** Upstream's Keep-Alive hint is shortened by this much, so the upstream never closes a connection we are about to reuse. */
const HINT_MARGIN_MS = 1000;

/**
 * @example
 *   const pool = new H1Pool({ scheme: 'http', host: '127.0.0.1', port: 1980 },
 *     { size: 320, idleTimeoutMs: 60e3, maxRequests: 1000, connectTimeoutMs: 60e3 });
 *   pool.dispatch({ method: 'GET', path: '/hello', headers: [], body: null, replayable: true }, handler);
 *   await pool.close();
 */
export class H1Pool implements ConnectionOwner {
  readonly #origin: PoolOrigin;
  readonly #connectHost: string;
  readonly #defaultHost: string;
  readonly #address: string;
  readonly #settings: PoolSettings;
  readonly #reuse: boolean;
  readonly #idle: H1Connection[] = [];
  readonly #open = new Set<H1Connection>();
  #queue: Exchange[] = [];
  #closed = false;
  /** Set while this pool closes a connection to make room: its slot is taken by the caller, not the queue. */
  #makingRoom = false;
  #closeWaiters: (() => void)[] = [];

  constructor(origin: PoolOrigin, settings: PoolSettings) {
    this.#origin = origin;
    this.#settings = settings;
    this.#reuse = settings.idleTimeoutMs > 0 && settings.maxRequests > 1;
    const bare = origin.host.startsWith('[') ? origin.host.slice(1, -1) : origin.host;
    this.#connectHost = bare;
    const named = isIP(bare) === 6 ? `[${bare}]` : bare;
    const defaultPort = origin.scheme === 'https' ? 443 : 80;
    this.#defaultHost = origin.port === defaultPort ? named : `${named}:${origin.port}`;
    this.#address = `${named}:${origin.port}`;
  }

  /** True once close() or destroy() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Open connections (busy, idle or connecting). */
  get connections(): number {
    return this.#open.size;
  }

  /** Idle keep-alive connections. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Send one request; everything that happens is reported to `handler`
   * (errors too, including a request that cannot be written).
   */
  dispatch(options: ExchangeOptions, handler: ExchangeHandler): void {
    if (this.#closed) {
      handler.onError(new UpstreamPoolClosedError());
      return;
    }
    let request: PreparedRequest;
    try {
      request = prepareRequest(options.method, options.path, options.headers, options.body, this.#defaultHost, !this.#reuse);
    } catch (err) {
      handler.onError(err as Error);
      return;
    }
    const exchange: Exchange = { options, handler, request, servername: this.#servername(request.host), replayed: false };
    const conn = this.#takeIdle(exchange.servername);
    if (conn !== undefined) conn.start(exchange);
    else this.#openOrQueue(exchange);
  }

  /** Stop taking requests, fail the queued ones, close idle connections and wait for the busy ones to finish. */
  close(): Promise<void> {
    this.#closed = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const exchange of queued) exchange.handler.onError(new UpstreamPoolClosedError());
    for (const conn of this.#idle.splice(0)) conn.destroy();
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** Close every connection now; running exchanges fail. */
  destroy(): void {
    this.#closed = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const exchange of queued) exchange.handler.onError(new UpstreamPoolClosedError());
    for (const conn of [...this.#open]) conn.destroy(new UpstreamPoolClosedError());
  }

  // ConnectionOwner -----------------------------------------------------------

  connectionIdle(conn: H1Connection, keepAliveHintMs: number): void {
    if (this.#closed) {
      conn.destroy();
      return;
    }
    const next = this.#queue.shift();
    if (next !== undefined) {
      if (next.servername === conn.servername) {
        conn.start(next);
        return;
      }
      this.#makeRoom(conn);
      this.#openOrQueue(next);
      return;
    }
    let idleMs = this.#settings.idleTimeoutMs;
    if (keepAliveHintMs >= 0) idleMs = Math.min(idleMs, keepAliveHintMs - HINT_MARGIN_MS);
    if (idleMs <= 0) {
      conn.destroy();
      return;
    }
    this.#idle.push(conn);
    conn.armIdleTimer(idleMs);
  }

  connectionClosed(conn: H1Connection): void {
    this.#open.delete(conn);
    const at = this.#idle.lastIndexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#closed) {
      if (this.#open.size === 0) for (const resolve of this.#closeWaiters.splice(0)) resolve();
      return;
    }
    if (this.#makingRoom) return;
    const next = this.#queue.shift();
    if (next !== undefined) this.#openOrQueue(next);
  }

  replay(exchange: Exchange): void {
    if (this.#closed) {
      exchange.handler.onError(new UpstreamPoolClosedError());
      return;
    }
    // Not on another idle connection: it may be just as stale.
    this.#openOrQueue(exchange);
  }

  // Internals -----------------------------------------------------------------

  #servername(host: string): string {
    if (this.#origin.scheme !== 'https') return '';
    // Host header → name without the port; IP literals (bracketed IPv6 included) send no SNI.
    if (host.startsWith('[')) return '';
    const colon = host.lastIndexOf(':');
    const name = colon >= 0 ? host.slice(0, colon) : host;
    return isIP(name) === 0 ? name : '';
  }

  #takeIdle(servername: string): H1Connection | undefined {
    const idle = this.#idle;
    if (servername === '' || this.#origin.scheme !== 'https') {
      return idle.pop();
    }
    for (let i = idle.length - 1; i >= 0; i--) {
      const conn = idle[i]!;
      if (conn.servername === servername) {
        idle.splice(i, 1);
        return conn;
      }
    }
    return undefined;
  }

  /** Close `conn` so that the caller can open another in its slot (the queue does not take it). */
  #makeRoom(conn: H1Connection): void {
    this.#makingRoom = true;
    try {
      conn.destroy();
    } finally {
      this.#makingRoom = false;
    }
  }

  #openOrQueue(exchange: Exchange): void {
    if (this.#open.size >= this.#settings.size) {
      // At the cap, an idle connection for another server name gives way.
      const spare = this.#origin.scheme === 'https' ? this.#idle.shift() : undefined;
      if (spare === undefined) {
        this.#queue.push(exchange);
        return;
      }
      this.#makeRoom(spare);
    }
    const https = this.#origin.scheme === 'https';
    const socket = https
      ? tlsConnect({
        host: this.#connectHost,
        port: this.#origin.port,
        ...(exchange.servername !== '' ? { servername: exchange.servername } : {}),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      })
      : tcpConnect({ host: this.#connectHost, port: this.#origin.port });
    const conn = new H1Connection(socket, {
      owner: this,
      servername: exchange.servername,
      address: this.#address,
      connectTimeoutMs: this.#settings.connectTimeoutMs,
      maxRequests: this.#reuse ? this.#settings.maxRequests : 1,
      maxHeaderBytes: maxHeaderSize,
      readyEvent: https ? 'secureConnect' : 'connect',
    });
    this.#open.add(conn);
    conn.start(exchange);
  }
}
