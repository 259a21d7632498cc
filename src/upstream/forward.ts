/**
 * The one outbound verb of the proxy: forward a client request to a compiled
 * upstream, streaming both ways, with nginx's retry and timeout semantics
 * (spec/routing.md §5.2).
 *
 * - A node is picked per attempt; `beforeAttempt` (the before_proxy phase)
 *   runs after every pick and may stop forwarding with a verdict.
 * - Retries (`retries`, default nodes − 1) follow `proxy_next_upstream error
 *   timeout`: only connection errors and timeouts before any response byte,
 *   never an HTTP 5xx. Once the request has been written, only idempotent
 *   requests without a body are sent again (nginx never resends POST, LOCK or
 *   PATCH, and a streamed body cannot be replayed). No retry starts after
 *   `retry_timeout` (→ 502).
 * - Final status: 502 for connection errors, 504 when the last attempt timed
 *   out, 503 when the upstream has no usable node or a name did not resolve,
 *   and 502 when retries remain but every node has been tried (APISIX fails
 *   the balancer pick).
 * - With health checks, each attempt's outcome (status, connect failure or
 *   timeout) is reported to the upstream's checker (passive checks); an
 *   upstream without `checks` pays one property read per attempt.
 * - Timeouts, all on native timers:
 *   connect = the pool's; read = from the end of the request to
 *   the response head, then between body chunks, like nginx's
 *   `proxy_read_timeout` (not running while the client's backpressure keeps
 *   the body paused); send = armed while the request body is paused by
 *   upstream backpressure and cleared when it flows again (nginx
 *   `proxy_send_timeout` counts between two successful writes).
 *
 * The call is the exchange handler of the pool's HTTP/1.1 client (h1/):
 * no promise or stream wrapper per request, and few listeners on the
 * destination.
 */
import type { Readable, Writable } from 'node:stream';
import { errorMessage } from '../errors.js';
import { ClientAbortedError, UpstreamBrokenResponseError, UpstreamSendTimeoutError, UpstreamTimeoutError } from './errors.js';
import type { ExchangeHandler, ExchangeOptions } from './h1/types.js';
import { toResponseHeaders } from './headers.js';
import type {
  CompiledUpstream,
  FailureStatus,
  ForwardHooks,
  ForwardOutcome,
  ForwardRequest,
  ResponseInfo,
  UpstreamNode,
} from './types.js';

/**
 * Forward `request` to `upstream`. Resolves when the response has been
 * handed to the writable returned by `hooks.onResponse` (or when forwarding
 * failed or was stopped); rejects only when a hook throws.
 *
 * @example
 *   const outcome = await forward(upstream, {
 *     method: req.method!, path: req.url!, headers: buildUpstreamHeaders(req.rawHeaders, downstream, {}),
 *     clientHost: req.headers.host ?? '', body: requestHasBody(req.rawHeaders) ? req : null,
 *     vars, remoteAddr: downstream.remoteAddr, client: res,
 *   }, {
 *     onResponse: (status, headers) => res.writeHead(status, headers),
 *   });
 *   if (outcome.kind === 'failed') res.writeHead(outcome.status, { 'content-type': ERROR_PAGE_CONTENT_TYPE }).end(errorPage(outcome.status));
 */
export function forward(upstream: CompiledUpstream, request: ForwardRequest, hooks: ForwardHooks): Promise<ForwardOutcome> {
  if (upstream.nodes.length === 0) {
    return Promise.resolve({ kind: 'failed', status: 503, reason: 'no valid upstream node', upstreamStatus: '', attempts: 0 });
  }
  if (request.client?.destroyed === true) {
    return Promise.resolve({ kind: 'aborted', status: 499, upstreamStatus: '', attempts: 0, error: new ClientAbortedError() });
  }
  return new ForwardCall(upstream, request, hooks).start();
}

/** Methods nginx (≥ 1.9.13) never sends to a next upstream once the request went out. */
function isNonIdempotent(method: string): boolean {
  return method === 'POST' || method === 'PATCH' || method === 'LOCK';
}

interface Failure {
  readonly status: FailureStatus;
  readonly reason: string;
  /** May another node be tried? */
  readonly retryable: boolean;
  /** How passive health checks count it; null when the node is not to blame. */
  readonly health: 'timeout' | 'tcp_failure' | null;
}

/**
 * Map a client / socket error that happened before any response byte to
 * nginx's status and retry rule. `resendable`: the request may be sent again
 * even if it already went out.
 */
function classifyFailure(err: unknown, written: boolean, resendable: boolean): Failure {
  const code = (err as { code?: unknown } | null)?.code;
  const again = !written || resendable;
  switch (code) {
    case 'UPSTREAM_CONNECT_TIMEOUT':
      return { status: 504, reason: 'upstream timed out while connecting', retryable: true, health: 'timeout' };
    case 'UPSTREAM_TIMEOUT':
      return { status: 504, reason: 'upstream timed out while reading response header', retryable: again, health: 'timeout' };
    case 'UPSTREAM_SEND_TIMEOUT':
      return { status: 504, reason: 'upstream timed out while sending request', retryable: again, health: 'timeout' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 503, reason: 'upstream host could not be resolved', retryable: true, health: 'tcp_failure' };
    default:
      break;
  }
  if (code === 'UPSTREAM_INVALID_REQUEST' || (typeof code === 'string' && code.startsWith('UPSTREAM_RESPONSE_'))) {
    // A request that cannot be written, or a response that is not HTTP: no other node will do better.
    // Only the second is the node's fault.
    const health = code === 'UPSTREAM_INVALID_REQUEST' ? null : 'tcp_failure';
    return { status: 502, reason: `invalid upstream exchange: ${errorMessage(err)}`, retryable: false, health };
  }
  return { status: 502, reason: `upstream connection failed: ${errorMessage(err)}`, retryable: again, health: 'tcp_failure' };
}

/**
 * State of one forwarded request. It is also the exchange handler of the
 * pool (one attempt at a time) and the `ResponseInfo` handed to `onResponse`.
 */
class ForwardCall implements ResponseInfo, ExchangeHandler {
  readonly #up: CompiledUpstream;
  readonly #request: ForwardRequest;
  readonly #hooks: ForwardHooks;
  readonly #options: ExchangeOptions;
  readonly #resendable: boolean;
  readonly #clock: boolean;
  readonly #startedAt: number;

  #resolve!: (outcome: ForwardOutcome) => void;
  #reject!: (err: unknown) => void;
  #done = false;
  #clientGone = false;

  // Current attempt.
  #attempt = 0;
  #node: UpstreamNode | undefined;
  #tried: Set<UpstreamNode> | undefined;
  #statuses: number[] | undefined;
  #attemptOpen = false;
  #attemptStart = 0;
  #firstByteMs = -1;
  #written = false;
  #abort: ((err: Error) => void) | null = null;
  #readTimer: NodeJS.Timeout | undefined;
  #readTimerOn = false;
  #sendTimer: NodeJS.Timeout | undefined;
  #onBodyPause: (() => void) | undefined;
  #onBodyResume: (() => void) | undefined;

  // Response.
  #status = 0;
  #dest: Writable | undefined;
  #onDrain: (() => void) | undefined;
  #onGone: ((err?: Error) => void) | undefined;
  #hookError: unknown;

  constructor(up: CompiledUpstream, request: ForwardRequest, hooks: ForwardHooks) {
    this.#up = up;
    this.#request = request;
    this.#hooks = hooks;
    const headers = request.headers;
    // pass_host (spec §5): `node` leaves Host to the pool, which sends its origin's host[:port].
    // A plugin's upstream_host beats all three.
    if (request.hostOverride !== undefined) {
      headers.push('host', request.hostOverride);
    } else if (up.passHost === 'pass') {
      if (request.clientHost !== '') headers.push('host', request.clientHost);
    } else if (up.passHost === 'rewrite') {
      headers.push('host', up.upstreamHost!);
    }
    // A buffered body can be sent again; a stream that started flowing cannot.
    this.#resendable = (request.body === null || Buffer.isBuffer(request.body)) && !isNonIdempotent(request.method);
    this.#options = { method: request.method, path: request.path, headers, body: request.body, replayable: this.#resendable };
    this.#clock = up.balancer.onEnd !== undefined || up.retryTimeoutMs > 0;
    this.#startedAt = up.retryTimeoutMs > 0 ? performance.now() : 0;
  }

  start(): Promise<ForwardOutcome> {
    return new Promise<ForwardOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#request.client?.on('close', this.#onClientClose);
      this.#next();
    });
  }

  // ResponseInfo ------------------------------------------------------------

  get node(): UpstreamNode {
    return this.#node!;
  }

  get attempts(): number {
    return this.#attempt;
  }

  get upstreamStatus(): string {
    const statuses = this.#statuses;
    const last = this.#status;
    if (statuses === undefined) return last === 0 ? '' : String(last);
    return last === 0 ? statuses.join(', ') : `${statuses.join(', ')}, ${last}`;
  }

  // Attempts ----------------------------------------------------------------

  #next(): void {
    const node = this.#up.balancer.pick(this.#request, this.#tried);
    if (node === undefined) {
      // First pick: every node has weight 0. Later: all nodes tried with retries left (APISIX answers 502).
      if (this.#attempt === 0) this.#fail(503, 'no valid upstream node');
      else this.#fail(502, 'all upstream nodes have been tried');
      return;
    }
    this.#attempt += 1;
    this.#node = node;
    const hook = this.#hooks.beforeAttempt;
    if (hook === undefined) {
      this.#dispatch(node);
      return;
    }
    let verdict: unknown;
    try {
      verdict = hook.call(this.#hooks, node, this.#attempt);
    } catch (err) {
      this.#settleWithError(err);
      return;
    }
    if (isPromiseLike(verdict)) {
      verdict.then((value) => this.#afterHook(node, value), (err: unknown) => this.#settleWithError(err));
    } else {
      this.#afterHook(node, verdict);
    }
  }

  #afterHook(node: UpstreamNode, verdict: unknown): void {
    if (this.#done) return;
    if (verdict !== undefined) {
      this.#settle({ kind: 'stopped', verdict, attempts: this.#attempt });
      return;
    }
    this.#dispatch(node);
  }

  #dispatch(node: UpstreamNode): void {
    this.#written = false;
    this.#abort = null;
    this.#firstByteMs = -1;
    this.#attemptOpen = true;
    if (this.#clock) this.#attemptStart = performance.now();
    this.#up.balancer.onStart?.(node);
    if (this.#stream() !== undefined && this.#up.timeouts.sendMs > 0) this.#watchSend();
    // Errors, including synchronous ones (invalid request), arrive through onError.
    node.pool.dispatch(this.#options, this);
  }

  /** Close the current attempt for the balancer's bookkeeping. */
  #endAttempt(failed: boolean): void {
    this.#unwatchSend();
    this.#stopReadTimer();
    if (!this.#attemptOpen) return;
    this.#attemptOpen = false;
    const onEnd = this.#up.balancer.onEnd;
    if (onEnd !== undefined) {
      const elapsed = this.#firstByteMs >= 0 ? this.#firstByteMs : performance.now() - this.#attemptStart;
      onEnd(this.#node!, elapsed, failed);
    }
  }

  // Send timeout ------------------------------------------------------------

  /** The request body when it is a stream (buffers need no send-timeout watching). */
  #stream(): Readable | undefined {
    const body = this.#request.body;
    return body === null || Buffer.isBuffer(body) ? undefined : body;
  }

  #watchSend(): void {
    const body = this.#stream()!;
    this.#onBodyPause ??= () => {
      // The client pauses the body only when the upstream socket does not take more data.
      this.#sendTimer ??= setTimeout(ForwardCall.#sendTimedOut, this.#up.timeouts.sendMs, this);
    };
    this.#onBodyResume ??= () => {
      if (this.#sendTimer !== undefined) {
        clearTimeout(this.#sendTimer);
        this.#sendTimer = undefined;
      }
    };
    body.on('pause', this.#onBodyPause);
    body.on('resume', this.#onBodyResume);
  }

  #unwatchSend(): void {
    if (this.#onBodyPause === undefined) return;
    const body = this.#stream()!;
    body.removeListener('pause', this.#onBodyPause);
    body.removeListener('resume', this.#onBodyResume!);
    this.#onBodyResume!();
  }

  static #sendTimedOut(call: ForwardCall): void {
    call.#sendTimer = undefined;
    if (call.#status === 0) call.#abort?.(new UpstreamSendTimeoutError(call.#up.timeouts.sendMs));
  }

  // Read timeout --------------------------------------------------------------

  /** (Re)start the read timer: the upstream must send something within `timeout.read`. */
  #startReadTimer(): void {
    const readMs = this.#up.timeouts.readMs;
    if (readMs <= 0) return;
    this.#readTimerOn = true;
    if (this.#readTimer === undefined) this.#readTimer = setTimeout(ForwardCall.#readTimedOut, readMs, this);
    else this.#readTimer.refresh();
  }

  #stopReadTimer(): void {
    this.#readTimerOn = false;
    if (this.#readTimer !== undefined) {
      clearTimeout(this.#readTimer);
      this.#readTimer = undefined;
    }
  }

  static #readTimedOut(call: ForwardCall): void {
    // Off while the client's backpressure pauses the body: that wait is not the upstream's.
    if (!call.#readTimerOn) return;
    call.#stopReadTimer();
    call.#abort?.(new UpstreamTimeoutError('read'));
  }

  // Exchange handler -------------------------------------------------------------

  onConnect(abort: (err: Error) => void): void {
    if (this.#clientGone) {
      abort(new ClientAbortedError());
      return;
    }
    // The request is being written to a socket from here on.
    this.#abort = abort;
    this.#written = true;
  }

  onRequestSent(): void {
    // nginx's read timeout starts once the request is out (an early response clears it).
    if (this.#status === 0) this.#startReadTimer();
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean {
    // (1xx interim responses never get here: the client skips them, as nginx.)
    this.#status = statusCode;
    if (this.#clock) this.#firstByteMs = performance.now() - this.#attemptStart;
    // Passive health checks (spec/routing.md §5.3) count every attempt's status.
    const health = this.#up.health;
    if (health !== undefined) health.reportStatus(this.#node!, statusCode);
    this.#unwatchSend();
    this.#startReadTimer();
    let dest: Writable;
    try {
      dest = this.#hooks.onResponse(statusCode, toResponseHeaders(rawHeaders), this);
    } catch (err) {
      // The client turns the throw into onError, which rejects with this error.
      this.#hookError = err;
      throw err;
    }
    this.#dest = dest;
    // Listeners are assigned to fields (not named consts) so no per-request function naming happens.
    this.#onDrain = () => {
      this.#startReadTimer();
      resume();
    };
    this.#onGone = (err?: Error) => {
      if (this.#done) return;
      if (err !== undefined || !dest.writableFinished) {
        this.#clientGone = true;
        this.#abort?.(new ClientAbortedError());
      }
    };
    // Every listener costs on the hot path: the client response's 'close' is
    // already watched (client option), and 'drain' is only awaited when a
    // write actually returned false. 'error' stays, so a late destination
    // error can never become an uncaught exception.
    if (dest !== this.#request.client) dest.on('close', this.#onGone);
    dest.on('error', this.#onGone);
    // Already gone (the client left while the response head was being prepared): 'close' will not come again.
    if (dest.destroyed) queueMicrotask(this.#onGone);
    return this.#flowing(dest, dest.writableNeedDrain !== true);
  }

  onData(chunk: Buffer): boolean {
    const dest = this.#dest;
    if (dest === undefined || dest.destroyed) return true;
    if (this.#readTimer !== undefined) this.#readTimer.refresh();
    return this.#flowing(dest, dest.write(chunk));
  }

  /**
   * The client pauses the upstream body while this returns false; the read timer
   * pauses with it, and the next 'drain' of the destination resumes both.
   */
  #flowing(dest: Writable, flowing: boolean): boolean {
    if (!flowing) {
      this.#readTimerOn = false;
      dest.once('drain', this.#onDrain!);
    }
    return flowing;
  }

  onComplete(): void {
    this.#endAttempt(false);
    const dest = this.#dest;
    if (dest === undefined) return;
    this.#detachDest(dest);
    // Settle first: the destination's 'close' after end() must not count as the client leaving.
    this.#settle({
      kind: 'proxied',
      status: this.#status,
      node: this.#node!,
      attempts: this.#attempt,
      upstreamStatus: this.upstreamStatus,
    });
    dest.end();
  }

  onError(err: Error): void {
    const failedBeforeResponse = this.#status === 0;
    this.#endAttempt(failedBeforeResponse);
    if (this.#hookError !== undefined) {
      if (this.#dest !== undefined) this.#detachDest(this.#dest);
      this.#settleWithError(this.#hookError);
      return;
    }
    if (!failedBeforeResponse) {
      this.#failMidResponse(err);
      return;
    }
    if (this.#done) return;
    const body = this.#stream();
    const bodyBroke = (err as { code?: unknown }).code === 'UPSTREAM_REQUEST_BODY_ABORTED' || (body !== undefined && body.errored !== null);
    if (this.#clientGone || bodyBroke) {
      this.#settle({ kind: 'aborted', status: 499, upstreamStatus: this.upstreamStatus, attempts: this.#attempt, error: err });
      return;
    }
    const failure = classifyFailure(err, this.#written, this.#resendable);
    (this.#statuses ??= []).push(failure.status);
    const node = this.#node!;
    const health = this.#up.health;
    if (health !== undefined && failure.health !== null) {
      if (failure.health === 'timeout') health.reportTimeout(node);
      else health.reportTcpFailure(node);
    }
    this.#up.logger.warn(
      { upstream: node.address, attempt: this.#attempt, err: errorMessage(err), code: (err as { code?: unknown }).code },
      failure.reason,
    );
    if (!failure.retryable || this.#attempt > this.#up.retries) {
      this.#fail(failure.status, failure.reason, err);
      return;
    }
    if (this.#up.retryTimeoutMs > 0 && performance.now() - this.#startedAt >= this.#up.retryTimeoutMs) {
      this.#fail(502, 'retry_timeout exceeded', err);
      return;
    }
    (this.#tried ??= new Set()).add(node);
    // Not from inside the client's error callback: the failing connection is still being torn down.
    queueMicrotask(() => this.#next());
  }

  /** The response has started: the client can only be cut off now. */
  #failMidResponse(err: Error): void {
    const dest = this.#dest!;
    this.#detachDest(dest);
    let error: Error;
    if (this.#clientGone) {
      error = new ClientAbortedError();
    } else {
      error = new UpstreamBrokenResponseError(`upstream failed mid-response: ${errorMessage(err)}`, { cause: err });
      this.#up.logger.warn({ upstream: this.#node!.address, err: errorMessage(err) }, 'upstream failed after the response started; client response truncated');
      dest.destroy(error);
    }
    this.#settle({
      kind: 'proxied',
      status: this.#status,
      node: this.#node!,
      attempts: this.#attempt,
      upstreamStatus: this.upstreamStatus,
      error,
    });
  }

  #detachDest(dest: Writable): void {
    // A stale 'drain' must not resume the parser once the socket serves another request. The
    // 'close' / 'error' listeners stay: after settling they are no-ops, and an 'error' listener
    // must remain so a late destination error cannot become an uncaught exception.
    dest.removeListener('drain', this.#onDrain!);
  }

  // Client abort ('close' of the client response) ----------------------------

  /** Assigned once per call (an arrow field) so it can be removed again. */
  readonly #onClientClose = (): void => {
    if (this.#done || this.#request.client?.writableFinished === true) return;
    this.#clientGone = true;
    if (this.#abort !== null) {
      this.#abort(new ClientAbortedError());
      return;
    }
    // Not written yet (hook pending, queued or connecting): settle now; onConnect aborts the attempt if it comes.
    this.#settle({ kind: 'aborted', status: 499, upstreamStatus: this.upstreamStatus, attempts: this.#attempt, error: new ClientAbortedError() });
  };

  // Settling ----------------------------------------------------------------

  #fail(status: FailureStatus, reason: string, error?: Error): void {
    this.#settle({ kind: 'failed', status, reason, upstreamStatus: this.upstreamStatus, attempts: this.#attempt, error });
  }

  #settle(outcome: ForwardOutcome): void {
    if (this.#done) return;
    this.#done = true;
    this.#request.client?.removeListener('close', this.#onClientClose);
    this.#resolve(outcome);
  }

  #settleWithError(err: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#request.client?.removeListener('close', this.#onClientClose);
    this.#reject(err);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
