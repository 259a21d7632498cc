/**
 * Contract between the proxy's HTTP/1.1 upstream client (`H1Pool`) and its
 * caller (`forward()`): one request/response exchange, driven by callbacks.
 * The shape follows undici's classic dispatch handler, which forward() was
 * written against, so the retry/timeout logic there did not have to change.
 */
import type { Readable } from 'node:stream';

export interface ExchangeOptions {
  readonly method: string;
  /** Request-target as sent (origin form, query included). */
  readonly path: string;
  /**
   * Flat `[name, value, ...]` list. `Host` is added from the pool's origin
   * when absent. Content-Length / Transfer-Encoding are decided by the
   * client from `body` (a given Content-Length is kept for a stream body).
   */
  readonly headers: readonly string[];
  /** A stream is piped with backpressure; a buffer is sent with its length; null: no body. */
  readonly body: Readable | Buffer | null;
  /**
   * May the request be sent again when a reused keep-alive connection
   * fails before any response byte? (nginx gives such a failure an extra
   * try; only for requests that are safe to resend.)
   */
  readonly replayable: boolean;
}

export interface ExchangeHandler {
  /**
   * A connection is ready and the request is about to be written. `abort`
   * ends the exchange (the connection is closed unless nothing was written)
   * and leads to `onError(err)`; it is a no-op once the exchange ended.
   * May be called again for the same exchange when it is replayed on a fresh
   * connection.
   */
  onConnect(abort: (err: Error) => void): void;
  /** The whole request, body included, was handed to the socket. */
  onRequestSent(): void;
  /**
   * The final response head (1xx are not reported). `headers` is flat,
   * names as received. Return false to pause the body until `resume()`.
   * A throw aborts the exchange and is passed to `onError`.
   */
  onHeaders(status: number, headers: string[], resume: () => void): boolean;
  /** A piece of the response body. Return false to pause until `resume()`. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** The exchange failed; called at most once, and never after onComplete. */
  onError(err: Error): void;
}
