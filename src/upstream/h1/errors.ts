/**
 * Errors of the proxy's HTTP/1.1 upstream client. forward() maps their
 * `code`s to nginx's statuses and retry rules (classifyFailure).
 */
import { FngateError } from '../../errors.js';

/** TCP (+TLS) connect did not finish within `timeout.connect`. */
export class UpstreamConnectTimeoutError extends FngateError {
  readonly code = 'UPSTREAM_CONNECT_TIMEOUT';
  constructor(address: string, timeoutMs: number) {
    super(`connect to ${address} timed out after ${timeoutMs} ms`);
  }
}

/** The upstream closed the connection before the response was complete. */
export class UpstreamConnectionClosedError extends FngateError {
  readonly code = 'UPSTREAM_CONNECTION_CLOSED';
}

/** The request cannot be sent as given (a header or the target would break HTTP framing). */
export class UpstreamInvalidRequestError extends FngateError {
  readonly code = 'UPSTREAM_INVALID_REQUEST';
}

/** A streamed request body ended before (or ran past) its declared Content-Length. */
export class RequestBodyLengthError extends FngateError {
  readonly code = 'UPSTREAM_REQUEST_LENGTH_MISMATCH';
}

/** The request body stream failed or closed before its end. */
export class RequestBodyAbortedError extends FngateError {
  readonly code = 'UPSTREAM_REQUEST_BODY_ABORTED';
}

/** The pool was closed; no new requests are taken. */
export class UpstreamPoolClosedError extends FngateError {
  readonly code = 'UPSTREAM_POOL_CLOSED';
  constructor() {
    super('the upstream connection pool is closed');
  }
}
