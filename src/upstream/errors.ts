/**
 * Errors raised by the upstream layer. Failures of a proxied request are not
 * thrown: forward() reports them as an outcome (status + reason); these
 * classes travel in `outcome.error` or are thrown for configuration mistakes.
 */
import { FngateError } from '../errors.js';

/** The upstream object cannot be compiled (unsupported scheme, malformed node). */
export class UpstreamConfigError extends FngateError {
  readonly code = 'UPSTREAM_CONFIG_INVALID';
}

/**
 * nginx `proxy_send_timeout`: the upstream accepted no request-body bytes for
 * `timeout.send` seconds while the body was backpressured.
 */
export class UpstreamSendTimeoutError extends FngateError {
  readonly code = 'UPSTREAM_SEND_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`upstream timed out while sending the request body (${timeoutMs} ms without progress)`);
  }
}

/** The client disconnected (its response closed early); the upstream request was aborted. */
export class ClientAbortedError extends FngateError {
  readonly code = 'UPSTREAM_CLIENT_ABORTED';
  constructor() {
    super('client closed the connection');
  }
}

/** The upstream failed after its response had started; the client response was cut short. */
export class UpstreamBrokenResponseError extends FngateError {
  readonly code = 'UPSTREAM_BROKEN_RESPONSE';
}

/** A connect or response-header timeout the gateway detects itself (read timeouts, the WebSocket path). */
export class UpstreamTimeoutError extends FngateError {
  readonly code = 'UPSTREAM_TIMEOUT';
  constructor(readonly phase: 'connect' | 'read') {
    super(phase === 'connect' ? 'upstream timed out while connecting' : 'upstream timed out while reading response header');
  }
}
