/**
 * WebSocket (and any HTTP/1.1 Upgrade) proxying for routes with
 * `enable_websocket` (spec/routing.md §6): the Upgrade request goes to a
 * node picked like any other (balancer, before_proxy, retries on connection
 * failure), with Upgrade/Connection kept; a `101` is relayed and both sockets
 * are then piped; any other response is relayed as is; a failure answers the
 * client socket with the 502/504 error page.
 *
 * Node's http client does the parsing (undici's `upgrade()` cannot relay a
 * non-101 answer). Each tunnel has its own upstream connection, as nginx's
 * upgraded connections are never kept alive. Once upgraded, the tunnel is
 * closed after `timeout.read` without traffic in either direction (nginx
 * applies `proxy_read_timeout` to upgraded connections too).
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ERROR_PAGE_CONTENT_TYPE, errorPage, reasonPhrase } from '../http/error-page.js';
import { errorMessage } from '../errors.js';
import type { VarGetter } from '../router/types.js';
import { ClientAbortedError, UpstreamTimeoutError } from './errors.js';
import { buildUpstreamHeaders, type DownstreamInfo } from './headers.js';
import type { CompiledUpstream, FailureStatus, UpstreamNode } from './types.js';

export interface UpgradeOptions {
  /** What the gateway observed about the client connection (X-Forwarded-*, pass_host: pass). */
  readonly downstream: DownstreamInfo;
  /** `apisix.trusted_addresses` matcher, as for buildUpstreamHeaders(). */
  readonly trusted?: (ip: string) => boolean;
  /** Request-target to send; default `req.url`. */
  readonly path?: string;
  /** Host chosen by a plugin (`upstream_host`); beats `pass_host`. */
  readonly hostOverride?: string | undefined;
  /** For chash keys. */
  readonly vars: VarGetter;
  /** The before_proxy phase; a value other than undefined stops with `{ kind: 'stopped' }` (nothing written). */
  readonly beforeAttempt?: (node: UpstreamNode, attempt: number) => unknown;
  /** `Server` header for responses written to the client (relayed ones included). */
  readonly server?: string;
}

export type UpgradeOutcome =
  /** 101 relayed; resolved when the tunnel has closed. */
  | { readonly kind: 'upgraded'; readonly status: 101; readonly node: UpstreamNode; readonly attempts: number; readonly upstreamStatus: string }
  /** The upstream declined the upgrade; its response was relayed and the connection closed. */
  | { readonly kind: 'responded'; readonly status: number; readonly node: UpstreamNode; readonly attempts: number; readonly upstreamStatus: string }
  /** The error page was written to the client socket. */
  | { readonly kind: 'failed'; readonly status: FailureStatus; readonly reason: string; readonly attempts: number; readonly upstreamStatus: string }
  | { readonly kind: 'aborted'; readonly status: 499; readonly attempts: number; readonly upstreamStatus: string }
  /** before_proxy answered; nothing was written, the caller responds on the socket. */
  | { readonly kind: 'stopped'; readonly verdict: unknown; readonly attempts: number };

/**
 * Proxy an HTTP Upgrade request (the server's `'upgrade'` event).
 *
 * @example
 *   server.on('upgrade', (req, socket, head) => {
 *     void proxyUpgrade(upstream, req, socket, head, { downstream, vars, server: 'APISIX' }).then(log);
 *   });
 */
export async function proxyUpgrade(
  upstream: CompiledUpstream,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: UpgradeOptions,
): Promise<UpgradeOutcome> {
  const statuses: number[] = [];
  const upstreamStatus = (): string => statuses.join(', ');
  let clientGone = false;
  const onClientGone = (): void => {
    clientGone = true;
  };
  socket.on('error', onClientGone);
  socket.once('close', onClientGone);
  const pickRequest = { vars: options.vars, remoteAddr: options.downstream.remoteAddr };
  const headers = buildUpstreamHeaders(req.rawHeaders, options.downstream, { trusted: options.trusted, websocket: true });
  const path = options.path ?? req.url ?? '/';
  const method = req.method ?? 'GET';
  const startedAt = performance.now();
  let tried: Set<UpstreamNode> | undefined;
  let attempt = 0;

  try {
    if (upstream.nodes.length === 0) {
      writeErrorPage(socket, 503, options.server, '');
      return { kind: 'failed', status: 503, reason: 'no valid upstream node', attempts: 0, upstreamStatus: '' };
    }
    for (;;) {
      const node = upstream.balancer.pick(pickRequest, tried);
      if (node === undefined) {
        const status = attempt === 0 ? 503 : 502;
        writeErrorPage(socket, status, options.server, upstreamStatus());
        return { kind: 'failed', status, reason: attempt === 0 ? 'no valid upstream node' : 'all upstream nodes have been tried', attempts: attempt, upstreamStatus: upstreamStatus() };
      }
      attempt += 1;
      if (options.beforeAttempt !== undefined) {
        const verdict = await options.beforeAttempt(node, attempt);
        if (verdict !== undefined) return { kind: 'stopped', verdict, attempts: attempt };
      }
      if (clientGone) return { kind: 'aborted', status: 499, attempts: attempt, upstreamStatus: upstreamStatus() };

      const result = await attemptUpgrade(upstream, node, { method, path, headers: withHost(headers, upstream, node, options.downstream.host, options.hostOverride) }, socket);
      if (result.kind === 'response') {
        statuses.push(result.res.statusCode ?? 0);
        // Passive health checks (spec/routing.md §5.3) learn from Upgrade attempts as from any other.
        upstream.health?.reportStatus(node, result.res.statusCode ?? 0);
        if (result.res.statusCode === 101) {
          await tunnel(upstream, node, result, socket, head, options.server);
          return { kind: 'upgraded', status: 101, node, attempts: attempt, upstreamStatus: upstreamStatus() };
        }
        await relayResponse(result.res, socket, options.server);
        upstream.balancer.onEnd?.(node, result.elapsedMs, false);
        return { kind: 'responded', status: result.res.statusCode ?? 502, node, attempts: attempt, upstreamStatus: upstreamStatus() };
      }
      upstream.balancer.onEnd?.(node, result.elapsedMs, true);
      if (clientGone) return { kind: 'aborted', status: 499, attempts: attempt, upstreamStatus: upstreamStatus() };
      if (result.timedOut) upstream.health?.reportTimeout(node);
      else upstream.health?.reportTcpFailure(node);
      const status: FailureStatus = result.timedOut ? 504 : 502;
      statuses.push(status);
      upstream.logger.warn({ upstream: node.address, attempt, err: errorMessage(result.error) }, 'websocket upstream attempt failed');
      const outOfTime = upstream.retryTimeoutMs > 0 && performance.now() - startedAt >= upstream.retryTimeoutMs;
      if (attempt > upstream.retries || outOfTime) {
        const finalStatus: FailureStatus = outOfTime ? 502 : status;
        writeErrorPage(socket, finalStatus, options.server, upstreamStatus());
        return { kind: 'failed', status: finalStatus, reason: errorMessage(result.error), attempts: attempt, upstreamStatus: upstreamStatus() };
      }
      (tried ??= new Set()).add(node);
    }
  } finally {
    socket.removeListener('close', onClientGone);
    // The 'error' listener stays: a late client socket error must not crash the process.
  }
}

/** The Upgrade request's headers plus Host per `pass_host` (spec §5). */
function withHost(headers: readonly string[], upstream: CompiledUpstream, node: UpstreamNode, clientHost: string, override: string | undefined): string[] {
  let host: string;
  if (override !== undefined) host = override;
  else if (upstream.passHost === 'rewrite') host = upstream.upstreamHost!;
  else if (upstream.passHost === 'pass' && clientHost !== '') host = clientHost;
  else host = node.hostHeader;
  return [...headers, 'Host', host];
}

type AttemptResult =
  | { kind: 'response'; res: http.IncomingMessage; upSocket: Duplex | undefined; upHead: Buffer | undefined; elapsedMs: number }
  | { kind: 'error'; error: Error; timedOut: boolean; elapsedMs: number };

/** One Upgrade request to one node, resolved with its response head or its failure. */
function attemptUpgrade(
  upstream: CompiledUpstream,
  node: UpstreamNode,
  request: { method: string; path: string; headers: string[] },
  client: Duplex,
): Promise<AttemptResult> {
  const { connectMs, readMs } = upstream.timeouts;
  const started = performance.now();
  upstream.balancer.onStart?.(node);
  return new Promise((resolve) => {
    const tls = upstream.scheme === 'https';
    const hostHeaderIndex = request.headers.length - 1;
    const sni = serverName(request.headers[hostHeaderIndex] ?? node.host);
    const options: https.RequestOptions = {
      host: node.host.startsWith('[') ? node.host.slice(1, -1) : node.host,
      port: node.port,
      method: request.method,
      path: request.path,
      headers: request.headers as unknown as http.OutgoingHttpHeaders,
      setHost: false,
      agent: false,
      ...(tls ? { rejectUnauthorized: false, ...(sni ? { servername: sni } : {}) } : {}),
    };
    const upReq = (tls ? https : http).request(options);
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      client.removeListener('close', onClientClose);
      resolve(result);
    };
    const fail = (error: Error, timedOut: boolean): void => {
      settle({ kind: 'error', error, timedOut, elapsedMs: performance.now() - started });
      upReq.destroy();
    };
    const onClientClose = (): void => fail(new ClientAbortedError(), false);
    client.once('close', onClientClose);

    if (connectMs > 0) {
      timer = setTimeout(() => fail(new UpstreamTimeoutError('connect'), true), connectMs);
    }
    upReq.once('socket', (sock) => {
      sock.once(tls ? 'secureConnect' : 'connect', () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = readMs > 0
          ? setTimeout(() => fail(new UpstreamTimeoutError('read'), true), readMs)
          : undefined;
      });
    });
    upReq.on('error', (err) => fail(err, false));
    upReq.once('upgrade', (res, upSocket, upHead) => {
      settle({ kind: 'response', res, upSocket, upHead, elapsedMs: performance.now() - started });
    });
    upReq.once('response', (res) => {
      settle({ kind: 'response', res, upSocket: undefined, upHead: undefined, elapsedMs: performance.now() - started });
    });
    upReq.end();
  });
}

/** SNI from the Host sent upstream (APISIX `proxy_ssl_name $upstream_host`); none for IP literals. */
function serverName(host: string): string | undefined {
  const name = host.startsWith('[') ? '' : host.replace(/:\d+$/, '');
  if (name === '' || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return undefined;
  return name;
}

/** Relay the 101 and pipe both ways until either side closes. */
function tunnel(
  upstream: CompiledUpstream,
  node: UpstreamNode,
  result: Extract<AttemptResult, { kind: 'response' }>,
  client: Duplex,
  head: Buffer,
  server: string | undefined,
): Promise<void> {
  const upSocket = result.upSocket!;
  return new Promise((resolve) => {
    let open = 2;
    const closed = (): void => {
      open -= 1;
      if (open === 0) {
        upstream.balancer.onEnd?.(node, result.elapsedMs, false);
        resolve();
      }
    };
    upSocket.once('close', closed);
    client.once('close', closed);
    const teardown = (): void => {
      upSocket.destroy();
      client.destroy();
    };
    upSocket.on('error', teardown);
    client.on('error', teardown);
    upSocket.on('end', () => client.end());
    client.on('end', () => upSocket.end());

    if (upstream.timeouts.readMs > 0 && 'setTimeout' in upSocket) {
      (upSocket as unknown as { setTimeout(ms: number, cb: () => void): void }).setTimeout(upstream.timeouts.readMs, teardown);
    }
    if ('setNoDelay' in client) (client as unknown as { setNoDelay(v: boolean): void }).setNoDelay(true);

    client.write(responseHead(result.res, true, server));
    if (result.upHead !== undefined && result.upHead.length > 0) client.write(result.upHead);
    if (head.length > 0) upSocket.write(head);
    upSocket.pipe(client, { end: false });
    client.pipe(upSocket, { end: false });
  });
}

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Status line and headers of a relayed response; `upgrade` keeps Connection/Upgrade (the 101). */
function responseHead(res: http.IncomingMessage, upgrade: boolean, server: string | undefined): string {
  const status = res.statusCode ?? 502;
  let head = `HTTP/1.1 ${status} ${res.statusMessage || reasonPhrase(status) || ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (server !== undefined && lower === 'server') continue;
    if (!upgrade && RESPONSE_HOP_BY_HOP.has(lower)) continue;
    head += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (server !== undefined) head += `Server: ${server}\r\n`;
  // A declined upgrade ends the connection: the body is delimited by closing it (RFC 9112 §6.3).
  if (!upgrade) head += 'Connection: close\r\n';
  return `${head}\r\n`;
}

/** Relay a non-101 answer and close the client connection. */
function relayResponse(res: http.IncomingMessage, client: Duplex, server: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    client.write(responseHead(res, false, server));
    res.pipe(client);
    res.once('end', () => {
      // The upstream connection is not reused (no agent): do not wait for the upstream to close it.
      res.socket?.destroy();
      resolve();
    });
    res.once('error', () => {
      client.destroy();
      resolve();
    });
    client.once('close', () => resolve());
  });
}

function writeErrorPage(socket: Duplex, status: number, server: string | undefined, upstreamStatus: string): void {
  if (socket.destroyed || !socket.writable) return;
  const body = errorPage(status);
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status) ?? ''}\r\n`;
  if (server !== undefined) head += `Server: ${server}\r\n`;
  head += `Content-Type: ${ERROR_PAGE_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  if (upstreamStatus !== '') head += `X-APISIX-Upstream-Status: ${upstreamStatus}\r\n`;
  socket.end(`${head}Connection: close\r\n\r\n${body}`);
}
