/**
 * Everything the gateway knows about one request, from the moment it is
 * parsed until it is logged: normalised URI, client address, the matched
 * route, proxy overrides, and the APISIX/nginx variable space (`ctx.var`)
 * computed lazily from it (spec/plugins.md §6.3).
 *
 * This is the core's record; plugins see it through the PDK's context
 * object, never directly, so a user function cannot clobber its fields.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname as osHostname } from 'node:os';
import type { MatchedInfo } from '../router/types.js';
import { parseCookies, parseQuery, type ArgValue } from './args.js';

/** The listener a request arrived on. */
export interface ListenerInfo {
  readonly scheme: 'http' | 'https';
  readonly port: number;
}

/** Identity of the route (after service merge) for `route_id`, `service_id`, ... */
export interface RouteIdentity {
  readonly id: string;
  readonly name?: string;
  readonly serviceId?: string;
  readonly serviceName?: string;
}

const HOSTNAME = osHostname();

/** Variables that are never cached: nginx recomputes them on every read, or they are a field read. */
const UNCACHED = new Set(['args', 'is_args', 'query_string', 'request_uri', 'upstream_uri', 'time_iso8601', 'msec', 'status', 'request_time', 'upstream_response_time', 'bytes_sent',
  // A retry picks another node: read these fresh in every before_proxy.
  'balancer_ip', 'balancer_port', 'upstream_status',
  // Read straight from a field: caching them would only cost a Map per request.
  'uri', 'host', 'http_host', 'remote_addr', 'scheme', 'method', 'request_method', 'route_id', 'service_id']);

/** Per-process counter behind `$request_id`-style ids; uniqueness, not secrecy. */
let requestCounter = 0;

export class RequestContext {
  /** `$uri`: normalised path used for matching. */
  uri: string;
  /** Raw query string without `?` (`$args`); plugins may replace it. */
  queryString: string;
  /** Matched route identity, once routing succeeded. */
  route: RouteIdentity | undefined = undefined;
  /** `ctx.curr_req_matched`. */
  matched: MatchedInfo | undefined = undefined;
  /** Request-target to send upstream when a plugin set `upstream_uri`. */
  upstreamUri: string | undefined = undefined;
  /** Host header to send upstream when a plugin set `upstream_host`. */
  upstreamHost: string | undefined = undefined;
  /** `$upstream_status` of the attempts so far (`"502, 200"`). */
  upstreamStatus: string | undefined = undefined;
  /** Node of the current/last attempt. */
  balancerIp: string | undefined = undefined;
  balancerPort: number | undefined = undefined;
  /** Final response status once known. */
  status: number | undefined = undefined;
  consumerName: string | undefined = undefined;
  consumerGroupId: string | undefined = undefined;
  /**
   * `$remote_addr`: the peer, or the address nginx's realip settings took
   * from a trusted peer's header; a plugin may replace it (see `setVar`).
   */
  remoteAddr: string;
  /** `$remote_port` when a plugin replaced the client address with one that carried a port. */
  remotePort: string | undefined = undefined;
  /** When the request arrived (ms since epoch), for latencies and `msec`. */
  readonly startTime = Date.now();
  /**
   * `$upstream_response_time` (the prometheus plugin's upstream latency):
   * when forwarding began and ended (`performance.now()`). Set by
   * handle-request on requests with plugins; no start when nothing was sent
   * upstream, no end yet while the response is still being relayed (the log
   * phase of a proxied response may run before forward() settles).
   */
  upstreamStartedAt: number | undefined = undefined;
  upstreamEndedAt: number | undefined = undefined;
  /**
   * The client socket's bytes written before this response, for
   * `$bytes_sent`. Set by handle-request on requests with plugins.
   */
  bytesSentBefore: number | undefined = undefined;

  /** `client_max_body_size` in bytes (0 = none): bounds a plugin reading the body, too. */
  clientMaxBodySize = 0;

  private cache: Map<string, unknown> | undefined;
  private args: Map<string, ArgValue[]> | undefined;
  private cookies: Map<string, string> | undefined;
  private requestId: string | undefined;
  /** Getters registered by plugins/functions (`core.ctx.register_var`). */
  private customVars: Map<string, (ctx: RequestContext) => unknown> | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** Path as normalised for matching. */
    uri: string,
    queryString: string,
    /** `$host`: Host header without port, lower-cased (or the listener address). */
    readonly host: string,
    remoteAddr: string,
    readonly listener: ListenerInfo,
  ) {
    this.uri = uri;
    this.queryString = queryString;
    this.remoteAddr = remoteAddr;
  }

  /** Milliseconds spent forwarding upstream so far (`$upstream_response_time`); undefined when nothing was sent upstream. */
  upstreamResponseMs(): number | undefined {
    if (this.upstreamStartedAt === undefined) return undefined;
    return (this.upstreamEndedAt ?? performance.now()) - this.upstreamStartedAt;
  }

  /** Bytes written to the client for this request so far (`$bytes_sent`); undefined when not tracked. */
  bytesSent(): number | undefined {
    const before = this.bytesSentBefore;
    if (before === undefined) return undefined;
    return (this.req.socket.bytesWritten ?? before) - before;
  }

  /** All values of one query argument (decoded), or undefined. */
  argValues(name: string): readonly ArgValue[] | undefined {
    this.args ??= parseQuery(this.queryString);
    return this.args.get(name);
  }

  /** Forget parsed args after `queryString` was changed by a plugin. */
  invalidateArgs(): void {
    this.args = undefined;
  }

  /** Request header by lower-case name, multi-values joined as nginx does. */
  header(name: string): string | undefined {
    const v = this.req.headers[name];
    if (v === undefined) return undefined;
    return Array.isArray(v) ? v.join(', ') : v;
  }

  registerVar(name: string, getter: (ctx: RequestContext) => unknown): void {
    (this.customVars ??= new Map()).set(name, getter);
  }

  /**
   * Read a variable (`ctx.var[name]`). Unknown names are undefined.
   *
   * @example
   *   ctx.getVar('arg_name'); ctx.getVar('http_user_agent'); ctx.getVar('route_id');
   */
  getVar(name: string): unknown {
    const cached = this.cache?.get(name);
    if (cached !== undefined) return cached;
    const value = this.computeVar(name);
    if (value !== undefined && !UNCACHED.has(name)) (this.cache ??= new Map()).set(name, value);
    return value;
  }

  /**
   * Write a variable. Proxy-driving names change what is sent upstream;
   * any other name is stored for the rest of the request (APISIX semantics).
   */
  setVar(name: string, value: unknown): void {
    switch (name) {
      case 'upstream_uri':
        this.upstreamUri = value === undefined || value === null ? undefined : String(value);
        return;
      case 'upstream_host':
        this.upstreamHost = value === undefined || value === null ? undefined : String(value);
        return;
      case 'args':
      case 'query_string':
        this.queryString = value === undefined || value === null ? '' : String(value);
        this.invalidateArgs();
        this.cache?.clear();
        return;
      case 'uri':
        this.uri = String(value);
        this.cache?.delete('uri');
        return;
      // The client address, replaced by a plugin (real-ip; APISIX's
      // `resty.apisix.client.set_real_ip`). Everything that runs later sees
      // the new value: `$remote_addr` for plugins, the upstream's X-Real-IP
      // and X-Forwarded-For, and balancers hashing on the client, because
      // the core reads `remoteAddr` only when it forwards. `$realip_remote_addr`
      // keeps the TCP peer. Writing nothing (APISIX's `ctx.var.remote_addr =
      // nil`, which only flushes its variable cache) keeps the address.
      case 'remote_addr':
        if (typeof value === 'string' && value !== '') this.remoteAddr = value;
        this.cache?.delete(name);
        return;
      case 'remote_port':
        if (value !== undefined && value !== null && value !== '') this.remotePort = String(value);
        this.cache?.delete(name);
        return;
    }
    (this.cache ??= new Map()).set(name, value);
  }

  private computeVar(name: string): unknown {
    switch (name) {
      case 'uri':
        return this.uri;
      case 'request_uri':
        return this.queryString === '' ? this.uri : `${this.uri}?${this.queryString}`;
      case 'real_request_uri':
        return this.req.url;
      case 'args':
      case 'query_string':
        return this.queryString === '' ? undefined : this.queryString;
      case 'is_args':
        return this.queryString === '' ? '' : '?';
      case 'host':
        return this.host;
      case 'http_host':
        return this.req.headers.host;
      case 'method':
      case 'request_method':
        return this.req.method;
      case 'scheme':
        return this.listener.scheme;
      case 'https':
        return this.listener.scheme === 'https' ? 'on' : '';
      case 'remote_addr':
        return this.remoteAddr;
      case 'realip_remote_addr':
        return this.req.socket.remoteAddress;
      case 'remote_port':
        if (this.remotePort !== undefined) return this.remotePort;
        return this.req.socket.remotePort === undefined ? undefined : String(this.req.socket.remotePort);
      case 'realip_remote_port':
        return this.req.socket.remotePort === undefined ? undefined : String(this.req.socket.remotePort);
      case 'server_addr':
        return this.req.socket.localAddress;
      case 'server_port':
        return String(this.listener.port);
      case 'server_name':
        return this.host;
      case 'server_protocol':
        return `HTTP/${this.req.httpVersion}`;
      case 'request':
        return `${this.req.method} ${this.req.url} HTTP/${this.req.httpVersion}`;
      case 'content_type':
        return this.req.headers['content-type'];
      case 'content_length':
        return this.req.headers['content-length'];
      case 'hostname':
        return HOSTNAME;
      case 'request_id':
        return (this.requestId ??= `${process.pid.toString(16)}${(++requestCounter).toString(16).padStart(12, '0')}`);
      case 'time_iso8601':
        return new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
      case 'msec':
        return (Date.now() / 1000).toFixed(3);
      case 'status':
        return this.status === undefined ? undefined : String(this.status);
      case 'route_id':
        return this.route?.id;
      case 'route_name':
        return this.route?.name;
      case 'service_id':
        return this.route?.serviceId;
      case 'service_name':
        return this.route?.serviceName;
      case 'consumer_name':
        return this.consumerName;
      case 'consumer_group_id':
        return this.consumerGroupId;
      case 'balancer_ip':
        return this.balancerIp;
      case 'balancer_port':
        return this.balancerPort === undefined ? undefined : String(this.balancerPort);
      case 'upstream_status':
        return this.upstreamStatus;
      case 'upstream_uri':
        return this.upstreamUri ?? this.req.url;
      case 'upstream_host':
        return this.upstreamHost;
      // nginx's logging variables (seconds with millisecond resolution; byte counts).
      case 'request_time':
        return ((Date.now() - this.startTime) / 1000).toFixed(3);
      case 'upstream_response_time': {
        const ms = this.upstreamResponseMs();
        return ms === undefined ? undefined : (ms / 1000).toFixed(3);
      }
      case 'request_length':
        return String(requestLength(this.req));
      case 'bytes_sent': {
        const bytes = this.bytesSent();
        return bytes === undefined ? undefined : String(bytes);
      }
    }
    const custom = this.customVars?.get(name);
    if (custom) return custom(this);
    if (name.startsWith('arg_')) {
      const values = this.argValues(name.slice(4));
      return values?.[0];
    }
    if (name.startsWith('http_')) {
      return this.header(name.slice(5).toLowerCase().replace(/_/g, '-'));
    }
    if (name.startsWith('cookie_')) {
      this.cookies ??= parseCookies(this.req.headers.cookie);
      return this.cookies.get(name.slice(7));
    }
    if (name.startsWith('uri_param_')) {
      return this.matched?.[name.slice(10)];
    }
    return undefined;
  }
}

/**
 * `$request_length`: request line, headers and body as received. The head is
 * rebuilt from the parsed request (Node keeps header bytes as latin1, one
 * character per byte); the body counts by Content-Length, so a chunked body
 * counts as 0.
 */
export function requestLength(req: IncomingMessage): number {
  // METHOD SP target SP HTTP/x.y CRLF ... CRLF
  let length = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 9 + req.httpVersion.length;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) length += (raw[i] as string).length + (raw[i + 1] as string).length + 4;
  const body = Number(req.headers['content-length']);
  return length + 2 + (Number.isFinite(body) && body > 0 ? body : 0);
}
