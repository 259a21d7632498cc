/**
 * The life of one request, in order (spec/plugins.md §3 is the diagram this
 * follows):
 *
 *   parse target → client address → match route → route checks
 *   → global rewrite → route rewrite → [consumer merge → consumer rewrite]
 *   → global access → route access
 *   → pick node → global/route before_proxy (per attempt) → forward
 *   → global/route header_filter → stream body through body_filter
 *   → global/route log
 *
 * A route without plugins (and no global rules) takes the fast path: no
 * plugin context is created and no phase runs. A request phase that returns
 * a verdict ends the request; header_filter, body_filter and log still run
 * on the generated response. Everything reads the snapshot the request
 * started with; nothing writes into it.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Logger } from '../log.js';
import type { FngateConfig } from '../config/types.js';
import type { Snapshot, CompiledRoute } from '../snapshot/snapshot.js';
import type { CompiledUpstream, ForwardHooks, ForwardOutcome, ResponseHeaders, ResponseInfo, UpstreamNode } from '../upstream/types.js';
import type { VarGetter } from '../router/types.js';
import type { SharedCounters } from '../pdk/context.js';
import type { CompiledChain } from '../plugin/chain.js';
import type { JsonObject } from '../resources/types.js';
import { normalizeRequestTarget } from '../router/normalize.js';
import { compileIpMatcher } from '../router/ip.js';
import { buildUpstreamHeaders, requestHasBody } from '../upstream/headers.js';
import { forward } from '../upstream/forward.js';
import { isBodyTooLarge, limitBody } from './body-limit.js';
import { proxyUpgrade } from '../upstream/websocket.js';
import { serverHeader } from '../version.js';
import { errorMessage } from '../errors.js';
import { GatewayContext, type RequestState, type ResponseState } from '../plugin/context.js';
import { PluginPhaseError, runRequestPhase, type Stop } from '../plugin/runner.js';
import { mergeConsumer } from '../plugin/consumer-merge.js';
import { messageOf } from '../plugin/user-function.js';
import { andThen, isThenable, type MaybePromise } from '../util/maybe-async.js';
import { RequestContext } from './request-context.js';
import { createRemoteAddrResolver, hostOf, plainAddress } from './client-address.js';
import { ROUTE_NOT_FOUND_BODY, sendErrorPage, sendRouteNotFound } from './respond.js';
import { ERROR_PAGE_CONTENT_TYPE, errorPage } from './error-page.js';
import {
  ResponseSink,
  hasBodyFilters,
  runHeaderFilters,
  runLogPhase,
  sendGenerated,
  sendStop,
  type ResponseChains,
} from './plugin-response.js';

export interface RequestHandlerOptions {
  /** The snapshot to serve with; called once per request. */
  readonly current: () => Snapshot;
  readonly config: FngateConfig;
  readonly logger: Logger;
  readonly scheme: 'http' | 'https';
  /** Counters shared by the node's workers (`ctx.counters`). */
  readonly counters: SharedCounters;
  /** Compile a consumer-merged plugin map (the registry's chain compiler). */
  readonly compileChain: (plugins: Readonly<Record<string, JsonObject>>, fromConsumer: ReadonlySet<string>) => CompiledChain;
}

const NO_VARS: VarGetter = () => undefined;

/** A forward outcome that still needs an error page. */
/** A forward that ends with a gateway-made error page. */
interface ForwardFailure {
  readonly status: number;
  readonly upstreamStatus: string;
}

export interface DataPlaneHandlers {
  /** The `request` listener. */
  readonly handleRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** The `upgrade` listener (WebSocket). */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** A matched request, ready for the route's phases. */
interface Resolved {
  readonly core: RequestContext;
  readonly snapshot: Snapshot;
  /** Undefined: no route matched (global rules still run, then 404). */
  readonly route: CompiledRoute | undefined;
}

/**
 * Build the data plane's request listeners.
 *
 * @example
 *   const { handleRequest, handleUpgrade } = createRequestHandler({ current, config, logger, scheme: 'http', counters, compileChain });
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

  // ---- matching ----------------------------------------------------------

  /**
   * Parse and match. Returns undefined when a response was already written
   * (400 for a bad target, 500 when a filter_func threw).
   */
  function resolve(req: IncomingMessage, res: ServerResponse): Resolved | undefined {
    const snapshot = options.current();
    const target = normalizeRequestTarget(req.url ?? '/', normalizeOptions);
    if (!target.ok) {
      sendErrorPage(res, 400, server);
      return undefined;
    }
    const remoteAddr = remoteAddrOf(req);
    const host = hostOf(req.headers.host, req.socket.localAddress ?? '');
    const core = new RequestContext(req, res, target.path, target.query ?? '', host, remoteAddr, {
      scheme,
      port: req.socket.localPort ?? 0,
    });
    if (maxBodySize > 0) core.clientMaxBodySize = maxBodySize;
    let match;
    try {
      match = snapshot.router.match({
        path: target.matchPath,
        method: req.method ?? 'GET',
        host,
        remoteAddr,
        vars: snapshot.needsVars ? (name) => core.getVar(name) : NO_VARS,
      });
    } catch (err) {
      // A route's filter_func threw: APISIX fails the request with 500.
      logger.error({ err: errorMessage(err), uri: target.path }, 'route matching failed');
      sendErrorPage(res, 500, server);
      return undefined;
    }
    const route = match ? snapshot.routes.get(match.value) : undefined;
    if (match && route) {
      core.route = route.identity;
      core.matched = match.matched;
    }
    return { core, snapshot, route };
  }

  // ---- the fast path: a route without plugins ------------------------------

  /** Send the route's request upstream and relay the answer, with no plugin involved. */
  function proxy(core: RequestContext, route: CompiledRoute, req: IncomingMessage, res: ServerResponse): void {
    if (route.target.kind !== 'upstream') {
      logger.error({ route: route.identity.id, reason: route.target.reason }, 'no upstream to proxy to');
      sendErrorPage(res, route.target.status, server);
      return;
    }
    if (bodyTooLarge(req, route)) {
      sendErrorPage(res, 413, server);
      return;
    }
    const onResponse = (status: number, upstreamHeaders: ResponseHeaders, info: ResponseInfo) => {
      decorateProxied(core, status, upstreamHeaders, info);
      res.writeHead(status, upstreamHeaders);
      return res;
    };
    forward(route.target.upstream, {
      method: req.method ?? 'GET',
      path: core.upstreamUri ?? req.url ?? '/',
      headers: upstreamHeaders(core, req.rawHeaders),
      clientHost: req.headers.host ?? '',
      body: streamedBody(req),
      vars: (name) => core.getVar(name),
      remoteAddr: core.remoteAddr,
      // The upstream request is aborted when the client goes away first.
      client: res,
    }, { onResponse }).then(
      (outcome) => finishPlain(core, route, res, outcome),
      (err: unknown) => {
        logger.error({ route: route.identity.id, err: errorMessage(err) }, 'forward failed unexpectedly');
        sendErrorPage(res, 502, server);
      },
    );
  }

  /** The client's body as a stream, counted against client_max_body_size when no Content-Length announced it. */
  function streamedBody(req: IncomingMessage): Readable | null {
    if (!requestHasBody(req.rawHeaders)) return null;
    return maxBodySize > 0 && req.headers['content-length'] === undefined ? limitBody(req, maxBodySize) : req;
  }

  function bodyTooLarge(req: IncomingMessage, route: CompiledRoute): boolean {
    // nginx client_max_body_size, judged on Content-Length before anything is sent.
    if (maxBodySize > 0 && Number(req.headers['content-length'] ?? 0) > maxBodySize) {
      logger.warn({ route: route.identity.id, length: req.headers['content-length'], max: maxBodySize }, 'request body too large');
      return true;
    }
    return false;
  }

  function upstreamHeaders(core: RequestContext, rawHeaders: readonly string[], websocket = false): string[] {
    return buildUpstreamHeaders(
      rawHeaders,
      { remoteAddr: core.remoteAddr, peerAddr: plainAddress(core.req.socket.remoteAddress), scheme, host: core.req.headers.host ?? '', serverPort: core.listener.port },
      { ...(trusted ? { trusted } : {}), websocket },
    );
  }

  /** Headers the gateway adds to every proxied response. */
  function decorateProxied(core: RequestContext, status: number, headers: ResponseHeaders, info: ResponseInfo): void {
    headers.server = server;
    if (alwaysShowUpstreamStatus || status >= 500) headers['x-apisix-upstream-status'] = info.upstreamStatus;
    core.status = status;
    core.upstreamStatus = info.upstreamStatus;
    // `$balancer_ip`/`$balancer_port`: the node that answered (prometheus' `node` label).
    core.balancerIp = info.node.host;
    core.balancerPort = info.node.port;
  }

  function finishPlain(core: RequestContext, route: CompiledRoute, res: ServerResponse, outcome: ForwardOutcome): void {
    const failure = settleOutcome(core, route, outcome);
    if (failure === undefined) return;
    res.setHeader('x-apisix-upstream-status', failure.upstreamStatus);
    sendErrorPage(res, failure.status, server);
  }

  /**
   * What both paths do with a forward outcome: log an interrupted or failed
   * exchange and record the statuses. Returns the failure whose error page
   * is still to be sent (each path sends it its own way).
   */
  function settleOutcome(core: RequestContext, route: CompiledRoute, outcome: ForwardOutcome): ForwardFailure | undefined {
    switch (outcome.kind) {
      case 'proxied':
        if (outcome.error) logger.warn({ route: route.identity.id, err: outcome.error.message }, 'response interrupted');
        return undefined;
      case 'failed':
        core.upstreamStatus = outcome.upstreamStatus;
        logger.error(
          { route: route.identity.id, status: outcome.status, reason: outcome.reason, upstream_status: outcome.upstreamStatus },
          'upstream request failed',
        );
        discardUnreadBody(core);
        return outcome;
      case 'aborted':
        if (isBodyTooLarge(outcome.error)) {
          refuseStreamedBody(core);
          return { status: 413, upstreamStatus: outcome.upstreamStatus };
        }
        core.status = 499;
        return undefined;
      case 'stopped':
        return undefined;
    }
  }

  /**
   * An error page is about to answer a request whose body was not read to
   * its end (forwarding failed mid-upload, or the body was cut off): discard
   * the rest and close the connection after the answer, so the next request
   * on it is not read from the middle of this body.
   */
  function discardUnreadBody(core: RequestContext): void {
    if (core.req.complete) return;
    core.req.resume();
    core.res.shouldKeepAlive = false;
  }

  /** A body without Content-Length went past client_max_body_size while it was read: log it, and get ready for the 413. */
  function refuseStreamedBody(core: RequestContext): void {
    logger.warn({ route: core.route?.id, max: maxBodySize }, 'request body too large');
    discardUnreadBody(core);
  }

  // ---- the plugin path ------------------------------------------------------

  /**
   * Run the request phases; returns the verdict that ended the request, if
   * any. Synchronous while every plugin is (most requests): no promise and
   * no microtask turn per phase. `chains.route` becomes active after the
   * global rewrite (a global rewrite verdict leaves the route's plugins out
   * of the response phases).
   */
  function requestPhases(ctx: GatewayContext, resolved: Resolved, chains: ResponseChains): MaybePromise<Stop | undefined> {
    const global = resolved.snapshot.globalChain;
    return andThen(runRequestPhase('rewrite', global?.rewrite ?? null, ctx, logger, chains.skipGlobal), (stop) => {
      if (stop) return stop;
      const route = resolved.route;
      if (!route) return runRequestPhase('access', global?.access ?? null, ctx, logger, chains.skipGlobal);
      chains.route = route.chain;
      return andThen(runRequestPhase('rewrite', chains.route?.rewrite ?? null, ctx, logger), (routeStop) =>
        routeStop ?? andThen(consumerPhases(ctx, resolved, route, chains), (consumerStop) => consumerStop ?? accessPhases(ctx, global, chains)));
    });
  }

  /** With an authenticated consumer: merge its plugins into the route's, then re-run rewrite for the ones it brought. */
  function consumerPhases(ctx: GatewayContext, resolved: Resolved, route: CompiledRoute, chains: ResponseChains): MaybePromise<Stop | undefined> {
    const consumer = ctx.consumer;
    if (!consumer) return undefined;
    const merged = mergeConsumer(route, consumer, resolved.snapshot, options.compileChain);
    if (!merged.ok) {
      logger.error({ route: route.identity.id, consumer: consumer.username, reason: merged.reason }, 'consumer group missing');
      return { status: merged.status, body: undefined, headers: undefined, plugin: 'consumer' };
    }
    chains.route = merged.chain;
    GatewayContext.setConfIdentity(ctx, merged.confType, merged.confId, merged.confVersion);
    // Only plugins the consumer or its group brought in, and not auth plugins, run rewrite again.
    return runRequestPhase('rewrite', merged.chain.rewrite, ctx, logger, (e) => !e.fromConsumer || e.plugin.isAuth);
  }

  function accessPhases(ctx: GatewayContext, global: CompiledChain | null, chains: ResponseChains): MaybePromise<Stop | undefined> {
    return andThen(runRequestPhase('access', global?.access ?? null, ctx, logger, chains.skipGlobal), (stop) =>
      stop ?? runRequestPhase('access', chains.route?.access ?? null, ctx, logger));
  }

  /** The whole request with plugins: phases, then the upstream or a generated response. */
  function pluginFlow(resolved: Resolved, req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Socket; head: Buffer }): MaybePromise<void> {
    const { core, snapshot, route } = resolved;
    const ctx = new GatewayContext({ core, snapshot, route, logger, counters: options.counters });
    // `$bytes_sent` counts from here (only requests with plugins have a log phase to read it).
    core.bytesSentBefore = req.socket.bytesWritten;
    const routeNames = route?.chain?.names;
    const chains: ResponseChains = {
      global: snapshot.globalChain,
      route: null,
      // prefer_route (prometheus): the route's own instance replaces the global one.
      skipGlobal: routeNames && snapshot.globalChain ? (e) => e.plugin.definition.runPolicy === 'prefer_route' && routeNames.has(e.name) : undefined,
    };
    // 'close' fires once per response, so no once() wrapper is needed.
    res.on('close', () => runLogPhase(ctx, chains, logger));

    let phases: MaybePromise<Stop | undefined>;
    try {
      phases = requestPhases(ctx, resolved, chains);
    } catch (err) {
      failWith500(ctx, res, chains, err);
      return;
    }
    if (isThenable(phases)) {
      return phases.then(
        (stop) => answer(ctx, resolved, req, res, chains, stop, upgrade),
        (err: unknown) => failWith500(ctx, res, chains, err),
      );
    }
    return answer(ctx, resolved, req, res, chains, phases, upgrade);
  }

  /** After the request phases: the verdict, a generated page, or the upstream. */
  function answer(
    ctx: GatewayContext,
    resolved: Resolved,
    req: IncomingMessage,
    res: ServerResponse,
    chains: ResponseChains,
    stop: Stop | undefined,
    upgrade: { socket: Socket; head: Buffer } | undefined,
  ): MaybePromise<void> {
    const { core, route } = resolved;
    if (stop) return sendStop(ctx, res, stop, server, chains, logger);
    if (!route) return sendGenerated(ctx, res, 404, ROUTE_NOT_FOUND_BODY, { 'content-type': 'text/plain; charset=utf-8', server }, chains, logger);
    if (route.target.kind !== 'upstream') {
      logger.error({ route: route.identity.id, reason: route.target.reason }, 'no upstream to proxy to');
      return sendPage(ctx, res, route.target.status, chains);
    }
    if (upgrade && route.enableWebsocket) {
      tunnel(core, route, route.target.upstream, req, upgrade.socket, upgrade.head, GatewayContext.requestOf(ctx), res);
      return;
    }
    if (bodyTooLarge(req, route)) return sendPage(ctx, res, 413, chains);
    return proxyWithPlugins(ctx, route, route.target.upstream, req, res, chains);
  }

  function sendPage(ctx: GatewayContext, res: ServerResponse, status: number, chains: ResponseChains, extra: Record<string, string> = {}): Promise<void> {
    return sendGenerated(ctx, res, status, errorPage(status), { 'content-type': ERROR_PAGE_CONTENT_TYPE, server, ...extra }, chains, logger);
  }

  function failWith500(ctx: GatewayContext, res: ServerResponse, chains: ResponseChains, err: unknown): void {
    if (isBodyTooLarge(err) && !res.headersSent) {
      // A plugin read a chunked body past client_max_body_size: nginx answers 413 itself.
      refuseStreamedBody(GatewayContext.coreOf(ctx));
      sendPage(ctx, res, 413, chains).catch((e: unknown) => {
        logger.error({ err: messageOf(e) }, 'failed to send the 413 page');
        res.destroy();
      });
      return;
    }
    const phaseError = err instanceof PluginPhaseError ? err : undefined;
    const cause = phaseError ? phaseError.cause : err;
    logger.error({
      route: GatewayContext.coreOf(ctx).route?.id,
      plugin: phaseError?.plugin,
      phase: phaseError?.phase,
      err: phaseError?.message ?? messageOf(err),
      stack: (cause as { stack?: unknown } | undefined)?.stack,
    }, 'plugin failed; answering 500');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendPage(ctx, res, 500, chains).catch((e: unknown) => {
      logger.error({ err: messageOf(e) }, 'failed to send the 500 page');
      res.destroy();
    });
  }

  /** The upstream part of a request with plugins: before_proxy per attempt, response phases on the answer. */
  function proxyWithPlugins(ctx: GatewayContext, route: CompiledRoute, upstream: CompiledUpstream, req: IncomingMessage, res: ServerResponse, chains: ResponseChains): MaybePromise<void> {
    const core = GatewayContext.coreOf(ctx);
    const request = GatewayContext.requestOf(ctx);
    const global = chains.global;
    const hasBeforeProxy = (global?.before_proxy ?? null) !== null || (chains.route?.before_proxy ?? null) !== null;

    const hooks: ForwardHooks = {
      onResponse: (status, headers, info) => {
        decorateProxied(core, status, headers, info);
        const state = GatewayContext.responseOf(ctx);
        state.adoptHead(status, headers);
        const filtered = runHeaderFilters(ctx, chains, logger);
        const bodyFilters = hasBodyFilters(chains);
        if (isThenable(filtered)) {
          return new ResponseSink(ctx, res, chains, logger, filtered.then(() => writeFilteredHead(core, state, res, bodyFilters)));
        }
        writeFilteredHead(core, state, res, bodyFilters);
        return bodyFilters ? new ResponseSink(ctx, res, chains, logger, undefined) : (res as Writable);
      },
    };
    if (hasBeforeProxy) {
      hooks.beforeAttempt = (node: UpstreamNode) => {
        core.balancerIp = node.host;
        core.balancerPort = node.port;
        const first = runRequestPhase('before_proxy', global?.before_proxy ?? null, ctx, logger, chains.skipGlobal);
        const then = (stop: Stop | undefined) => stop ?? runRequestPhase('before_proxy', chains.route?.before_proxy ?? null, ctx, logger);
        return isThenable(first) ? first.then(then) : then(first);
      };
    }

    core.upstreamStartedAt = performance.now();
    let forwarded: Promise<ForwardOutcome>;
    try {
      forwarded = forward(upstream, {
        method: request?.method ?? req.method ?? 'GET',
        path: core.upstreamUri ?? req.url ?? '/',
        headers: upstreamHeaders(core, request?.changed ? patchedRawHeaders(req.rawHeaders, request) : req.rawHeaders),
        clientHost: req.headers.host ?? '',
        hostOverride: core.upstreamHost,
        // The plugins' version of the body if they read or replaced it, else the stream.
        body: request?.body_ !== undefined ? request.body_ : streamedBody(req),
        vars: (name) => core.getVar(name),
        remoteAddr: core.remoteAddr,
        client: res,
      }, hooks);
    } catch (err) {
      failWith500(ctx, res, chains, err);
      return;
    }
    return forwarded.then(
      (outcome) => afterUpstream(ctx, route, res, chains, outcome),
      (err: unknown) => failWith500(ctx, res, chains, err),
    );
  }

  /** What the upstream attempt came to: relayed already, or an error page / verdict to send now. */
  function afterUpstream(ctx: GatewayContext, route: CompiledRoute, res: ServerResponse, chains: ResponseChains, outcome: ForwardOutcome): MaybePromise<void> {
    const core = GatewayContext.coreOf(ctx);
    // `$upstream_response_time` counts only when a request went out (a before_proxy verdict stops its attempt first).
    if (outcome.attempts > (outcome.kind === 'stopped' ? 1 : 0)) core.upstreamEndedAt = performance.now();
    else core.upstreamStartedAt = undefined;
    if (outcome.kind === 'stopped') return sendStop(ctx, res, outcome.verdict as Stop, server, chains, logger);
    const failure = settleOutcome(core, route, outcome);
    if (failure === undefined) return;
    return sendPage(ctx, res, failure.status, chains, { 'x-apisix-upstream-status': failure.upstreamStatus });
  }

  /** Tunnel a WebSocket upgrade on a route with `enable_websocket`. */
  function tunnel(core: RequestContext, route: CompiledRoute, upstream: CompiledUpstream, req: IncomingMessage, socket: Socket, head: Buffer, request: RequestState | undefined, res: ServerResponse): void {
    res.detachSocket(socket);
    const rawHeaders = request?.changed ? patchedRawHeaders(req.rawHeaders, request) : req.rawHeaders;
    const forwardedReq = rawHeaders === req.rawHeaders ? req : Object.assign(Object.create(req) as IncomingMessage, { rawHeaders });
    proxyUpgrade(upstream, forwardedReq, socket, head, {
      downstream: { remoteAddr: core.remoteAddr, peerAddr: plainAddress(socket.remoteAddress), scheme, host: req.headers.host ?? '', serverPort: core.listener.port },
      ...(trusted ? { trusted } : {}),
      ...(core.upstreamUri ? { path: core.upstreamUri } : {}),
      hostOverride: core.upstreamHost,
      vars: (name) => core.getVar(name),
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

  // ---- entry points ----------------------------------------------------------

  function dispatch(req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Socket; head: Buffer }): void {
    const resolved = resolve(req, res);
    if (!resolved) return;
    const { core, snapshot, route } = resolved;
    if (route?.fatal) {
      logger.error({ route: route.identity.id, reason: route.fatal.reason }, 'route cannot be served');
      sendErrorPage(res, route.fatal.status, server);
      return;
    }
    if (route?.chain || snapshot.globalChain) {
      const failed = (err: unknown) => {
        logger.error({ route: route?.identity.id, err: messageOf(err) }, 'request failed unexpectedly');
        if (!res.headersSent) sendErrorPage(res, 500, server);
        else res.destroy();
      };
      try {
        const flow = pluginFlow(resolved, req, res, upgrade);
        if (isThenable(flow)) flow.then(undefined, failed);
      } catch (err) {
        failed(err);
      }
      return;
    }
    if (!route) {
      sendRouteNotFound(res, server);
      return;
    }
    if (upgrade && route.enableWebsocket && route.target.kind === 'upstream') {
      tunnel(core, route, route.target.upstream, req, upgrade.socket, upgrade.head, undefined, res);
      return;
    }
    proxy(core, route, req, res);
  }

  const handleRequest = function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    dispatch(req, res);
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
    dispatch(req, res, { socket: netSocket, head });
  };

  return { handleRequest, handleUpgrade };
}

/** Write the proxied response's head as header_filter left it. */
function writeFilteredHead(core: RequestContext, state: ResponseState, res: ServerResponse, bodyFilters: boolean): void {
  const head = state.headersObject as ResponseHeaders;
  // Body filters may change the length: let Node frame the body instead.
  if (bodyFilters) delete head['content-length'];
  state.sent = true;
  core.status = state.status;
  res.writeHead(state.status, head);
}

/**
 * The client's raw headers with plugin changes applied: overridden names
 * replaced (or removed), and the framing fixed when the body was replaced.
 */
function patchedRawHeaders(raw: readonly string[], request: RequestState): string[] {
  const overrides = request.overrides;
  const bodyReplaced = request.body_ !== undefined;
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (overrides?.has(lower)) continue;
    if (bodyReplaced && (lower === 'content-length' || lower === 'transfer-encoding')) continue;
    out.push(name, raw[i + 1] as string);
  }
  for (const [name, value] of overrides ?? []) {
    if (value === null) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, String(v));
    else out.push(name, String(value));
  }
  if (bodyReplaced && request.body_) out.push('content-length', String(request.body_.length));
  return out;
}

