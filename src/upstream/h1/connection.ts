/**
 * One keep-alive connection to an upstream, carrying one exchange at a time
 * (no pipelining, as nginx). It writes the prepared request (streaming a
 * body with backpressure), feeds the socket into the response parser and
 * reports to the exchange's handler; the pool decides what runs on it next.
 *
 * Reuse is decided when a response completes: only if the response allows
 * it (parser.keepAlive), the request body was fully sent, no stray bytes
 * followed the response and `maxRequests` is not reached. Anything else
 * closes the connection, so a half-read exchange never leaks into the next.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ResponseParser, type ResponseEvents } from './response-parser.js';
import { RequestBodyAbortedError, RequestBodyLengthError, UpstreamConnectTimeoutError, UpstreamConnectionClosedError } from './errors.js';
import type { PreparedRequest } from './request-head.js';
import type { ExchangeHandler, ExchangeOptions } from './types.js';

/** A request on its way through the pool. */
export interface Exchange {
  readonly options: ExchangeOptions;
  readonly handler: ExchangeHandler;
  readonly request: PreparedRequest;
  /** TLS server name this exchange needs ('' for plain TCP or an IP literal host). */
  readonly servername: string;
  /** Already replayed once after a reused connection failed. */
  replayed: boolean;
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** The exchange ended cleanly; the connection can take another one. */
  connectionIdle(conn: H1Connection, keepAliveHintMs: number): void;
  /** The connection is gone (called once, synchronously with the decision to close). */
  connectionClosed(conn: H1Connection): void;
  /** Send `exchange` again on a fresh connection. */
  replay(exchange: Exchange): void;
}

export interface ConnectionOptions {
  readonly owner: ConnectionOwner;
  /** TLS server name the socket was opened with ('' for none). */
  readonly servername: string;
  /** `host:port`, for error messages. */
  readonly address: string;
  readonly connectTimeoutMs: number;
  readonly maxRequests: number;
  readonly maxHeaderBytes: number;
  /** The event that says the socket is ready: 'connect', or 'secureConnect' for TLS. */
  readonly readyEvent: 'connect' | 'secureConnect';
}

/** Errors after which a request that never got a response byte may be replayed on a fresh connection. */
function isStaleConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UPSTREAM_CONNECTION_CLOSED';
}

export class H1Connection implements ResponseEvents {
  readonly socket: Socket;
  readonly servername: string;
  readonly #owner: ConnectionOwner;
  readonly #address: string;
  readonly #maxRequests: number;
  readonly #parser: ResponseParser;

  #connected = false;
  #closed = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #idleTimerMs = 0;
  /** Exchanges completed on this connection. */
  #served = 0;

  // The current exchange.
  #exchange: Exchange | null = null;
  #written = false;
  #responseDone = false;
  #paused = false;
  #body: Readable | null = null;
  #bodyDone = true;
  #bodySent = 0;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.servername = options.servername;
    this.#owner = options.owner;
    this.#address = options.address;
    this.#maxRequests = options.maxRequests;
    this.#parser = new ResponseParser(this, options.maxHeaderBytes);
    socket.setNoDelay(true);
    socket.on(options.readyEvent, this.#onReady);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    if (options.connectTimeoutMs > 0) {
      this.#connectTimer = setTimeout(H1Connection.#connectTimedOut, options.connectTimeoutMs, this, options.connectTimeoutMs);
    }
  }

  /** Run `exchange` now, or as soon as the socket is connected. */
  start(exchange: Exchange): void {
    // A running idle timer is left alone: it finds the connection busy and does nothing.
    this.#exchange = exchange;
    if (!this.#connected) return;
    if (this.socket.destroyed) {
      // Closed under us since it went idle (its 'close' is still queued). Nothing was sent: use a new connection.
      this.#exchange = null;
      this.#close();
      this.#owner.replay(exchange);
      return;
    }
    this.#begin(exchange);
  }

  /** Close the connection when it stays idle for `ms`. */
  armIdleTimer(ms: number): void {
    if (this.#idleTimer !== undefined && this.#idleTimerMs === ms) {
      this.#idleTimer.refresh();
      return;
    }
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimerMs = ms;
    this.#idleTimer = setTimeout(H1Connection.#idleTimedOut, ms, this);
    this.#idleTimer.unref();
  }

  /** Close now; a running exchange fails with `err` (or a "closed" error). */
  destroy(err?: Error): void {
    if (this.#exchange !== null) {
      this.#fail(err ?? new UpstreamConnectionClosedError('the upstream connection was closed'));
      return;
    }
    this.#close();
  }

  // Writing the request --------------------------------------------------------

  #begin(exchange: Exchange): void {
    this.#written = false;
    this.#responseDone = false;
    this.#parser.reset(exchange.options.method === 'HEAD');
    try {
      exchange.handler.onConnect((err) => this.#abort(exchange, err));
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    // Aborted inside onConnect: nothing was written and the connection is clean.
    if (this.#exchange !== exchange) return;
    this.#written = true;
    const socket = this.socket;
    const { head } = exchange.request;
    const body = exchange.options.body;
    if (body === null) {
      socket.write(head, 'latin1');
      exchange.handler.onRequestSent();
    } else if (Buffer.isBuffer(body)) {
      // One writev for head and body.
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
      exchange.handler.onRequestSent();
    } else {
      socket.write(head, 'latin1');
      this.#pipeBody(body);
    }
  }

  #pipeBody(body: Readable): void {
    if (body.destroyed) {
      // Failed (or was cut off) before it could be sent: its 'error' has already been emitted.
      this.#fail(new RequestBodyAbortedError('request body failed before it was sent', { cause: body.errored ?? undefined }));
      return;
    }
    this.#body = body;
    this.#bodyDone = false;
    this.#bodySent = 0;
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
    body.on('error', this.#onBodyError);
    body.on('close', this.#onBodyClose);
    body.resume();
  }

  readonly #onBodyData = (data: Buffer | string): void => {
    const exchange = this.#exchange;
    if (exchange === null) return;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    // A zero-length chunk would read as the end of a chunked body.
    if (chunk.length === 0) return;
    const socket = this.socket;
    let flowing: boolean;
    if (exchange.request.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      flowing = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      this.#bodySent += chunk.length;
      if (this.#bodySent > exchange.request.declaredLength) {
        this.#fail(new RequestBodyLengthError(`request body is longer than its Content-Length (${exchange.request.declaredLength})`));
        return;
      }
      flowing = socket.write(chunk);
    }
    if (!flowing) {
      this.#body!.pause();
      socket.once('drain', this.#onSocketDrain);
    }
  };

  readonly #onSocketDrain = (): void => {
    if (this.#body !== null && !this.#bodyDone) this.#body.resume();
  };

  readonly #onBodyEnd = (): void => {
    const exchange = this.#exchange;
    if (exchange === null || this.#bodyDone) return;
    const { request } = exchange;
    if (!request.chunked && this.#bodySent !== request.declaredLength) {
      this.#fail(new RequestBodyLengthError(`request body ended after ${this.#bodySent} of ${request.declaredLength} bytes`));
      return;
    }
    if (request.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.#bodyDone = true;
    this.#detachBody();
    if (!this.#responseDone) exchange.handler.onRequestSent();
  };

  readonly #onBodyError = (err: Error): void => {
    if (this.#exchange === null || this.#bodyDone) return;
    this.#fail(new RequestBodyAbortedError(`request body failed: ${err.message}`, { cause: err }));
  };

  readonly #onBodyClose = (): void => {
    if (this.#exchange === null || this.#bodyDone) return;
    this.#fail(new RequestBodyAbortedError('request body closed before its end'));
  };

  /** Stop sending the request body; returns it. */
  #detachBody(): Readable | null {
    const body = this.#body;
    if (body === null) return null;
    this.#body = null;
    body.removeListener('data', this.#onBodyData);
    body.removeListener('end', this.#onBodyEnd);
    body.removeListener('error', this.#onBodyError);
    body.removeListener('close', this.#onBodyClose);
    this.socket.removeListener('drain', this.#onSocketDrain);
    return body;
  }

  // Reading the response (ResponseEvents) -------------------------------------

  onHead(status: number, headers: string[]): void {
    if (!this.#exchange!.handler.onHeaders(status, headers, this.#resume)) this.#pause();
  }

  onBody(chunk: Buffer): void {
    if (!this.#exchange!.handler.onData(chunk)) this.#pause();
  }

  onComplete(): void {
    // Finished by the caller of execute()/finish(), once the parser returned.
    this.#responseDone = true;
  }

  #pause(): void {
    this.#paused = true;
    this.socket.pause();
  }

  readonly #resume = (): void => {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  };

  // Socket events -----------------------------------------------------------------

  readonly #onReady = (): void => {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connected = true;
    if (this.#exchange !== null) this.#begin(this.#exchange);
  };

  readonly #onData = (chunk: Buffer): void => {
    if (this.#exchange === null) {
      // Bytes nobody asked for: the connection is out of step.
      this.#close();
      return;
    }
    let used: number;
    try {
      used = this.#parser.execute(chunk);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (this.#responseDone) this.#finish(used === chunk.length);
  };

  readonly #onEnd = (): void => {
    if (this.#exchange === null) {
      this.#close();
      return;
    }
    const started = this.#parser.started;
    try {
      this.#parser.finish();
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (this.#responseDone) {
      this.#finish(false);
      return;
    }
    this.#fail(new UpstreamConnectionClosedError(
      started ? 'upstream closed the connection mid-response' : 'upstream closed the connection before responding',
    ));
  };

  readonly #onError = (err: Error): void => {
    if (this.#exchange !== null) this.#fail(err);
    else this.#close();
  };

  readonly #onClose = (): void => {
    if (this.#exchange !== null) this.#fail(new UpstreamConnectionClosedError('upstream connection closed'));
    else this.#close();
  };

  static #connectTimedOut(conn: H1Connection, ms: number): void {
    if (conn.#connected || conn.#closed) return;
    const err = new UpstreamConnectTimeoutError(conn.#address, ms);
    if (conn.#exchange !== null) conn.#fail(err);
    else conn.#close();
  }

  static #idleTimedOut(conn: H1Connection): void {
    if (conn.#exchange === null) conn.#close();
  }

  // Ending an exchange ------------------------------------------------------------

  /** The response completed; `clean`: no bytes followed it. */
  #finish(clean: boolean): void {
    const exchange = this.#exchange!;
    this.#exchange = null;
    this.#served += 1;
    const bodySent = this.#bodyDone;
    const body = this.#detachBody();
    // The upstream answered before taking the whole body: drain the rest so the client connection can go on.
    if (!bodySent) body?.resume();
    this.#resume();
    const reusable = clean && bodySent && this.#parser.keepAlive && this.#served < this.#maxRequests && !this.#closed;
    const hint = this.#parser.keepAliveHintMs;
    if (!reusable) this.#close();
    try {
      exchange.handler.onComplete();
    } finally {
      if (reusable) this.#owner.connectionIdle(this, hint);
    }
  }

  /** The handler gave up on the exchange. */
  #abort(exchange: Exchange, err: Error): void {
    if (this.#exchange !== exchange) return;
    if (!this.#written) {
      this.#exchange = null;
      exchange.handler.onError(err);
      this.#owner.connectionIdle(this, -1);
      return;
    }
    this.#exchange = null;
    this.#detachBody();
    this.#close();
    exchange.handler.onError(err);
  }

  #fail(err: Error): void {
    const exchange = this.#exchange;
    const reused = this.#served > 0;
    const responded = this.#parser.started;
    this.#exchange = null;
    this.#detachBody();
    this.#close();
    if (exchange === null) return;
    // A keep-alive connection the upstream had already closed: try once more on a new one (nginx does too).
    if (reused && !responded && exchange.options.replayable && !exchange.replayed && isStaleConnectionError(err)) {
      exchange.replayed = true;
      this.#owner.replay(exchange);
      return;
    }
    exchange.handler.onError(err);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.socket.destroy();
    this.#owner.connectionClosed(this);
  }
}
