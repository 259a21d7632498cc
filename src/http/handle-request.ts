/**
 * The life of one proxied request, in order (spec/plugins.md §3 is the
 * diagram this follows):
 *
 *   parse target → client address → match route → route checks
 *   → [rewrite, access phases]  → pick node → [before_proxy] → forward
 *   → [header_filter] → stream body [body_filter] → [log]
 *
 * The bracketed phases belong to the plugin framework; a request on a route
 * without plugins pays one check per phase for them. Everything here reads
 * the snapshot the request started with; nothing writes into it.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { FngateConfig } from '../config/types.js';
import type { Snapshot, CompiledRoute } from '../snapshot/snapshot.js';
import type { CompiledUpstream, ForwardOutcome, ResponseHeaders, ResponseInfo } from '../upstream/types.js';
import type { VarGetter } from '../router/types.js';
import { normalizeRequestTarget } from '../router/normalize.js';
import { compileIpMatcher } from '../router/ip.js';
import { buildUpstreamHeaders, requestHasBody } from '../upstream/headers.js';
import { forward } from '../upstream/forward.js';
import { proxyUpgrade } from '../upstream/websocket.js';
import { serverHeader } from '../version.js';
import { errorMessage } from '../errors.js';
import { RequestContext } from './request-context.js';
import { createRemoteAddrResolver, hostOf, plainAddress } from './client-address.js';
import { sendErrorPage, sendRouteNotFound } from './respond.js';

export interface RequestHandlerOptions {
  /** The snapshot to serve with; called once per request. */
  readonly current: () => Snapshot;
  readonly config: FngateConfig;
  readonly logger: Logger;
  readonly scheme: 'http' | 'https';
}

const NO_VARS: VarGetter = () => undefined;

export interface DataPlaneHandlers {
  /** The `request` listener. */
  readonly handleRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** The `upgrade` listener (WebSocket). */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/**
 * Build the data plane's request listener.
 *
 * @example
 *   const { handleRequest, handleUpgrade } = createRequestHandler({ current: () => source.current(), config, logger, scheme: 'http' });
 *   http.createServer(handleRequest).on('upgrade', handleUpgrade);
 */
export function createRequestHandler(options: RequestHandlerOptions): DataPlaneHandlers {
  const { config, logger } = options;
  const apisix = config.apisix;
  const normalizeOptions = {
    deleteUriTailSlash: apisix.delete_uri_tail_slash,
    matchUriEncodedSlash: apisix.match_uri_encoded_slash,
    normalizeUriLikeServlet: apisix.normalize_uri_like_servlet,
  };
  const remoteAddrOf = createRemoteAddrResolver({
    header: config.nginx_config.http.real_ip_header,
    trustedFrom: config.nginx_config.http.real_ip_from,
  });
  const trusted = apisix.trusted_addresses?.length ? compileIpMatcher(apisix.trusted_addresses) : undefined;
  const server = serverHeader(apisix.enable_server_tokens);
  const alwaysShowUpstreamStatus = apisix.show_upstream_status_in_response_header;
  const scheme = options.scheme;
  const maxBodySize = config.nginx_config.http.client_max_body_size;

  /** Send the route's request upstream and relay the answer. */
  function proxy(ctx: RequestContext, route: CompiledRoute, req: IncomingMessage, res: ServerResponse): void {
    if (route.target.kind !== 'upstream') {
      logger.error({ route: route.identity.id, reason: route.target.reason }, 'no upstream to proxy to');
      sendErrorPage(res, route.target.status, server);
      return;
    }
    // nginx client_max_body_size, judged on Content-Length before anything is sent.
    if (maxBodySize > 0 && Number(req.headers['content-length'] ?? 0) > maxBodySize) {
      logger.warn({ route: route.identity.id, length: req.headers['content-length'], max: maxBodySize }, 'request body too large');
      sendErrorPage(res, 413, server);
      return;
    }
    const upstream = route.target.upstream;
    const clientHost = req.headers.host ?? '';
    const headers = buildUpstreamHeaders(
      req.rawHeaders,
      { remoteAddr: ctx.remoteAddr, peerAddr: plainAddress(req.socket.remoteAddress), scheme, host: clientHost, serverPort: ctx.listener.port },
      trusted ? { trusted } : {},
    );

    const onResponse = (status: number, upstreamHeaders: ResponseHeaders, info: ResponseInfo) => {
      upstreamHeaders.server = server;
      if (alwaysShowUpstreamStatus || status >= 500) upstreamHeaders['x-apisix-upstream-status'] = info.upstreamStatus;
      ctx.status = status;
      ctx.upstreamStatus = info.upstreamStatus;
      res.writeHead(status, upstreamHeaders);
      return res;
    };

    forward(upstream, {
      method: req.method ?? 'GET',
      path: ctx.upstreamUri ?? req.url ?? '/',
      headers,
      clientHost,
      body: requestHasBody(req.rawHeaders) ? req : null,
      vars: (name) => ctx.getVar(name),
      remoteAddr: ctx.remoteAddr,
      // The upstream request is aborted when the client goes away first.
      client: res,
    }, { onResponse }).then(
      (outcome) => finish(ctx, route, res, outcome),
      (err: unknown) => {
        logger.error({ route: route.identity.id, err }, 'forward failed unexpectedly');
        if (!res.headersSent) sendErrorPage(res, 502, server);
        else res.destroy();
      },
    );
  }

  function finish(ctx: RequestContext, route: CompiledRoute, res: ServerResponse, outcome: ForwardOutcome): void {
    switch (outcome.kind) {
      case 'proxied':
        if (outcome.error) {
          logger.warn({ route: route.identity.id, err: outcome.error.message }, 'response interrupted');
        }
        return;
      case 'failed':
        ctx.upstreamStatus = outcome.upstreamStatus;
        logger.error(
          { route: route.identity.id, status: outcome.status, reason: outcome.reason, upstream_status: outcome.upstreamStatus },
          'upstream request failed',
        );
        res.setHeader('x-apisix-upstream-status', outcome.upstreamStatus);
        sendErrorPage(res, outcome.status, server);
        return;
      case 'aborted':
        ctx.status = 499;
        return;
      case 'stopped':
        // before_proxy verdicts arrive with the plugin framework.
        return;
    }
  }

  /**
   * Parse, match and check the route. Returns undefined when a response was
   * already written (400, 404, 500, or the route's fatal error).
   */
  function resolve(req: IncomingMessage, res: ServerResponse): { ctx: RequestContext; route: CompiledRoute } | undefined {
    const snapshot = options.current();
    const target = normalizeRequestTarget(req.url ?? '/', normalizeOptions);
    if (!target.ok) {
      sendErrorPage(res, 400, server);
      return undefined;
    }
    const remoteAddr = remoteAddrOf(req);
    const host = hostOf(req.headers.host, req.socket.localAddress ?? '');
    const ctx = new RequestContext(req, res, target.path, target.query ?? '', host, remoteAddr, {
      scheme,
      port: req.socket.localPort ?? 0,
    });

    let match;
    try {
      match = snapshot.router.match({
        path: target.matchPath,
        method: req.method ?? 'GET',
        host,
        remoteAddr,
        vars: snapshot.needsVars ? (name) => ctx.getVar(name) : NO_VARS,
      });
    } catch (err) {
      // A route's filter_func threw: APISIX fails the request with 500.
      logger.error({ err: errorMessage(err), uri: target.path }, 'route matching failed');
      sendErrorPage(res, 500, server);
      return undefined;
    }
    // Global rules' rewrite and access phases run here even without a match (plugin framework).
    const route = match ? snapshot.routes.get(match.value) : undefined;
    if (!match || !route) {
      sendRouteNotFound(res, server);
      return undefined;
    }
    ctx.route = route.identity;
    ctx.matched = match.matched;
    if (route.fatal) {
      logger.error({ route: route.identity.id, reason: route.fatal.reason }, 'route cannot be served');
      sendErrorPage(res, route.fatal.status, server);
      return undefined;
    }
    return { ctx, route };
  }

  /** Tunnel a WebSocket upgrade on a route with `enable_websocket`. */
  function tunnel(ctx: RequestContext, route: CompiledRoute, upstream: CompiledUpstream, req: IncomingMessage, socket: Socket, head: Buffer): void {
    proxyUpgrade(upstream, req, socket, head, {
      downstream: { remoteAddr: ctx.remoteAddr, peerAddr: plainAddress(socket.remoteAddress), scheme, host: req.headers.host ?? '', serverPort: ctx.listener.port },
      ...(trusted ? { trusted } : {}),
      ...(ctx.upstreamUri ? { path: ctx.upstreamUri } : {}),
      vars: (name) => ctx.getVar(name),
      server,
    }).then(
      (outcome) => {
        if (outcome.kind === 'failed') {
          logger.error({ route: route.identity.id, status: outcome.status, reason: outcome.reason }, 'websocket upstream failed');
        }
      },
      (err: unknown) => {
        logger.error({ route: route.identity.id, err: errorMessage(err) }, 'websocket proxy failed unexpectedly');
        socket.destroy();
      },
    );
  }

  const handleRequest = function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const resolved = resolve(req, res);
    // Plugin phases rewrite → access run here (plugin framework); none on this route.
    if (resolved) proxy(resolved.ctx, resolved.route, req, res);
  };

  /**
   * Node hands every request carrying `Upgrade` to this listener. Routes with
   * `enable_websocket` are tunnelled; on any other route the request is served
   * as plain HTTP (nginx drops Upgrade there too), through a response object
   * bound to the raw socket, so 404s and errors look the same as elsewhere.
   */
  const handleUpgrade = function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const netSocket = socket as Socket;
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(netSocket);
    res.once('finish', () => {
      res.detachSocket(netSocket);
      netSocket.end();
    });
    const resolved = resolve(req, res);
    if (!resolved) return;
    const { ctx, route } = resolved;
    if (route.enableWebsocket && route.target.kind === 'upstream') {
      res.detachSocket(netSocket);
      tunnel(ctx, route, route.target.upstream, req, netSocket, head);
      return;
    }
    proxy(ctx, route, req, res);
  };

  return { handleRequest, handleUpgrade };
}
