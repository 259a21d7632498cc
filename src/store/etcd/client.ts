/**
 * A small client for etcd's v3 JSON gateway over undici: the transport of the
 * etcd store. It owns what every request shares: endpoint fail-over, the
 * per-request timeout, token authentication, TLS, and the connection health
 * the status API reports.
 *
 * Why the JSON gateway rather than gRPC (the `etcd3` package): it is what
 * APISIX itself speaks (spec/config.md §5), needs no dependency beyond undici,
 * and leaves watch resumption, backoff and fail-over to code we control and
 * test, instead of a library's reconnect policy.
 */
import { Pool } from 'undici';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log.js';
import { errorMessage } from '../../errors.js';
import { StoreUnavailableError } from '../types.js';
import { headerRevision, type WireAuthResponse, type WireError, type WireHeader } from './codec.js';
import { EndpointRing } from './endpoints.js';
import { EtcdConfigError, EtcdServerError, EtcdTransportError, GrpcCode } from './errors.js';

export interface EtcdTlsOptions {
  /** PEM client certificate and key, for etcd's `--client-cert-auth`. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** PEM CA bundle to verify etcd with; Node's default roots when absent. */
  readonly ca?: string | Buffer;
  /** false accepts any server certificate (deployment.etcd.tls.verify). */
  readonly verify: boolean;
  /** Server name sent in the handshake and verified, instead of the host. */
  readonly sni?: string;
}

export interface EtcdClientOptions {
  /** `http(s)://host:port` origins (deployment.etcd.host). */
  readonly hosts: readonly string[];
  /** Bound on one request, connect to last byte. */
  readonly timeoutMs: number;
  /** How long a failed endpoint is passed over while another is healthy. */
  readonly endpointDownMs: number;
  readonly credentials?: { readonly user: string; readonly password: string };
  readonly tls?: EtcdTlsOptions;
  readonly logger: Logger;
}

/**
 * Whether a request may be sent again to another endpoint after a failure
 * whose outcome is unknown (a timeout or reset after the request went out).
 * Reads may; writes may not, since the first attempt may have been applied.
 */
export type Retry = 'idempotent' | 'once';

/** An open `/v3/watch` response stream. */
export interface EtcdStream {
  readonly body: Readable;
  readonly endpoint: string;
  /** The auth token the stream was opened with, to drop it if etcd rejects it. */
  readonly token: string | undefined;
}

interface Endpoint {
  readonly origin: string;
  /** Short requests; bounded so a burst of writes does not open hundreds of sockets. */
  readonly unary: Pool;
  /** Long-lived watch streams, one socket each, kept apart so they never queue requests. */
  readonly streams: Pool;
}

/** Node and undici error codes meaning the request never left this process. */
const BEFORE_SEND_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
]);

const UNARY_CONNECTIONS = 8;

type Health = 'unknown' | 'up' | 'down';

/**
 * @example
 *   const client = new EtcdClient({ hosts: ['http://127.0.0.1:2379'], timeoutMs: 30_000, endpointDownMs: 10_000, logger });
 *   const res = await client.call<WireRangeResponse>('/v3/kv/range', { key: encodeText('/apisix/routes/1') }, 'idempotent');
 */
export class EtcdClient {
  readonly #endpoints: EndpointRing<Endpoint>;
  readonly #timeoutMs: number;
  readonly #credentials: EtcdClientOptions['credentials'];
  readonly #logger: Logger;
  #token: string | undefined;
  #authenticating: Promise<string> | undefined;
  #health: Health = 'unknown';
  #lastError: string | undefined;
  #lastRevision = 0;
  #closed = false;

  constructor(options: EtcdClientOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#credentials = options.credentials;
    this.#logger = options.logger;
    const connect = connectOptions(options.tls, options.timeoutMs);
    const endpoints = options.hosts.map((host): Endpoint => {
      const origin = parseOrigin(host);
      return {
        origin,
        unary: new Pool(origin, { connections: UNARY_CONNECTIONS, connect }),
        streams: new Pool(origin, { connect }),
      };
    });
    this.#endpoints = new EndpointRing(endpoints, options.endpointDownMs);
  }

  /** The last exchange with etcd succeeded (false before the first one). */
  get connected(): boolean {
    return this.#health === 'up';
  }

  /** Message of the most recent failure to reach or use etcd, cleared by the next success. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Highest store revision seen in any etcd response. */
  get lastRevision(): number {
    return this.#lastRevision;
  }

  /**
   * POST a JSON request and return etcd's JSON answer. A refused connection
   * moves on to the next endpoint; with `retry: 'idempotent'` so do a
   * timeout, a reset and a member without a leader. Each attempt is bounded
   * by the timeout. An expired auth token is renewed once, transparently.
   *
   * @throws EtcdServerError when etcd answers with an error.
   * @throws EtcdTransportError when no endpoint answered.
   */
  async call<T extends { header?: WireHeader }>(path: string, body: object, retry: Retry): Promise<T> {
    try {
      const result = await this.#withToken((token) => this.#post<T>(path, body, retry, token));
      this.noteRevision(headerRevision(result.header));
      this.reportSuccess();
      return result;
    } catch (err) {
      this.reportFailure(err);
      throw err;
    }
  }

  /**
   * Open a response stream (a watch). Only the opening is bounded by the
   * timeout; the stream then lives until etcd or `signal` ends it. Failures
   * are left to the caller to report, as it decides what a failure means.
   */
  openStream(path: string, body: object, signal: AbortSignal): Promise<EtcdStream> {
    return this.#withToken((token) => this.#open(path, body, signal, token));
  }

  /** Forget `token` (etcd rejected it); the next request authenticates again. */
  invalidateToken(token: string | undefined): void {
    if (token !== undefined && this.#token === token) this.#token = undefined;
  }

  /** Record a store revision seen outside {@link call} (watch responses). */
  noteRevision(revision: number): void {
    if (revision > this.#lastRevision) this.#lastRevision = revision;
  }

  /** An exchange with etcd worked: logs the end of an outage once. */
  reportSuccess(): void {
    if (this.#health === 'down') this.#logger.info({ lastError: this.#lastError }, 'etcd connection recovered');
    this.#health = 'up';
    this.#lastError = undefined;
  }

  /** A failure; only those meaning etcd is unreachable or refusing us count as an outage (logged once). */
  reportFailure(err: unknown): void {
    if (this.#closed || !isOutage(err)) return;
    this.#lastError = errorMessage(err);
    if (this.#health !== 'down') this.#logger.warn({ err: this.#lastError }, 'etcd unavailable; retrying');
    this.#health = 'down';
  }

  /** Waits for requests in flight, ends streams, closes sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#endpoints.all().flatMap((ep) => [ep.streams.destroy(), ep.unary.close()]));
  }

  /** Runs `request` with the current token; when etcd no longer knows it, authenticates again and retries once. */
  async #withToken<R>(request: (token: string | undefined) => Promise<R>): Promise<R> {
    this.#assertOpen();
    const token = await this.#currentToken();
    try {
      return await request(token);
    } catch (err) {
      if (token === undefined || !(err instanceof EtcdServerError) || !err.invalidToken) throw err;
      this.invalidateToken(token);
      return request(await this.#currentToken());
    }
  }

  async #open(path: string, body: object, signal: AbortSignal, token: string | undefined): Promise<EtcdStream> {
    const payload = JSON.stringify(body);
    let lastError: unknown;
    for (const endpoint of this.#endpoints.order(Date.now())) {
      this.#assertOpen();
      try {
        const res = await endpoint.streams.request({
          path,
          method: 'POST',
          headers: requestHeaders(token),
          body: payload,
          signal,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: 0,
        });
        if (res.statusCode !== 200) throw serverError(endpoint.origin, res.statusCode, await res.body.text());
        this.#endpoints.markUp(endpoint);
        return { body: res.body, endpoint: endpoint.origin, token };
      } catch (err) {
        if (signal.aborted || err instanceof EtcdServerError) throw err;
        const failure = this.#transportError(endpoint, err);
        lastError = failure;
        // Opening a watch writes nothing, so any endpoint may be tried.
      }
    }
    throw lastError;
  }

  /** Tries the endpoints in order until one answers; see {@link call} for when it moves on. */
  async #post<T>(path: string, body: object, retry: Retry, token: string | undefined): Promise<T> {
    const payload = JSON.stringify(body);
    let lastError: unknown;
    for (const endpoint of this.#endpoints.order(Date.now())) {
      this.#assertOpen();
      try {
        const res = await endpoint.unary.request({
          path,
          method: 'POST',
          headers: requestHeaders(token),
          body: payload,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw serverError(endpoint.origin, res.statusCode, text);
        this.#endpoints.markUp(endpoint);
        return JSON.parse(text) as T;
      } catch (err) {
        if (err instanceof EtcdServerError) {
          // A member without a leader (or a proxy in front of a dead one) may be the only one in trouble.
          if (retry === 'once' || !isMemberFault(err)) throw err;
          this.#endpoints.markDown(endpoint, Date.now());
          lastError = err;
          continue;
        }
        const failure = this.#transportError(endpoint, err);
        lastError = failure;
        if (!failure.beforeSend && retry === 'once') break;
      }
    }
    throw lastError;
  }

  /** Marks `endpoint` down and describes the failure (a closed client reads as closed). */
  #transportError(endpoint: Endpoint, err: unknown): EtcdTransportError {
    this.#assertOpen();
    const down = this.#endpoints.markDown(endpoint, Date.now());
    const failure = describeTransportError(endpoint.origin, err, this.#timeoutMs);
    if (down && this.#endpoints.size > 1) {
      this.#logger.warn({ endpoint: endpoint.origin, err: failure.message }, 'etcd endpoint failed; using the others for now');
    }
    return failure;
  }

  /** The current token, authenticating first when there is none; concurrent callers share one attempt. */
  async #currentToken(): Promise<string | undefined> {
    const credentials = this.#credentials;
    if (!credentials) return undefined;
    if (this.#token !== undefined) return this.#token;
    this.#authenticating ??= this.#post<WireAuthResponse>('/v3/auth/authenticate', { name: credentials.user, password: credentials.password }, 'idempotent', undefined)
      .then((res) => {
        if (!res.token) throw new StoreUnavailableError('etcd authentication returned no token (is auth enabled on etcd?)');
        this.#token = res.token;
        return res.token;
      })
      .finally(() => {
        this.#authenticating = undefined;
      });
    return this.#authenticating;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the etcd store is closed');
  }
}

function requestHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', authorization: token };
}

function connectOptions(tls: EtcdTlsOptions | undefined, timeoutMs: number): Pool.Options['connect'] {
  if (!tls) return { timeout: timeoutMs };
  return {
    timeout: timeoutMs,
    rejectUnauthorized: tls.verify,
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.sni === undefined ? {} : { servername: tls.sni }),
  };
}

function parseOrigin(host: string): string {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new EtcdConfigError(`deployment.etcd.host: ${JSON.stringify(host)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EtcdConfigError(`deployment.etcd.host: ${JSON.stringify(host)} must be an http:// or https:// URL`);
  }
  return url.origin;
}

/** The gateway's error body is `{"error": ..., "message": ..., "code": <gRPC code>}`. */
function serverError(origin: string, status: number, text: string): EtcdServerError {
  let body: WireError | undefined;
  try {
    body = JSON.parse(text) as WireError;
  } catch {
    body = undefined;
  }
  const message = body?.message ?? body?.error ?? (text.trim() || `etcd answered HTTP ${status}`);
  return new EtcdServerError(message, body?.code, origin);
}

function describeTransportError(origin: string, err: unknown, timeoutMs: number): EtcdTransportError {
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new EtcdTransportError(`etcd at ${origin} did not answer within ${timeoutMs / 1000} s`, origin, false, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  const beforeSend = typeof code === 'string' && (BEFORE_SEND_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_'));
  return new EtcdTransportError(`failed to reach etcd at ${origin}: ${errorMessage(err)}`, origin, beforeSend, { cause: err });
}

/** etcd's "no leader" family, or an answer that did not come from etcd's gateway at all. */
function isMemberFault(err: EtcdServerError): boolean {
  return err.grpcCode === GrpcCode.Unavailable || err.grpcCode === undefined;
}

/**
 * Whether a failure means "etcd is unreachable or refuses us" (what the
 * health status reports) rather than a problem with one request.
 */
function isOutage(err: unknown): boolean {
  if (err instanceof EtcdServerError) {
    switch (err.grpcCode) {
      case undefined: // not the gateway's error body: a proxy in between, or not etcd v3.4+ at all
      case GrpcCode.DeadlineExceeded:
      case GrpcCode.PermissionDenied:
      case GrpcCode.Unavailable:
      case GrpcCode.Unauthenticated:
        return true;
      default:
        // Bad credentials, or auth enabled on etcd with none configured here.
        return /authentication|user name is empty|auth token/.test(err.message);
    }
  }
  return err instanceof StoreUnavailableError;
}
