/**
 * The request context every phase function receives as `ctx` — the same
 * object for all phases of one request (and all upstream retries), and the
 * same object user functions of the serverless plugins receive. Properties
 * not listed here are free for plugins to share data across phases.
 *
 * Which call is allowed in which phase is documented in docs/plugin-develop.md;
 * calls outside their phases throw a `PdkPhaseError`.
 */
import type { MatchedInfo } from '../router/types.js';

export type HeaderValue = string | number | readonly string[];

/** `ctx.request`: the client's request as the gateway will proxy it. */
export interface RequestApi {
  /** The method that will be sent upstream (client's unless changed). */
  readonly method: string;
  /** A request header (case-insensitive name), multi-values joined with `, `. */
  header(name: string): string | undefined;
  /** All request headers, lower-case names. */
  headers(): Record<string, string>;
  /** Set (or, with `null`, remove) a header sent upstream. rewrite/access/before_proxy. */
  setHeader(name: string, value: HeaderValue | null): void;
  /** Change the method sent upstream. rewrite/access. */
  setMethod(method: string): void;
  /**
   * The whole request body (read once, then kept and sent upstream as is);
   * undefined when the request has none. rewrite/access.
   * Rejects with a `BodyTooLargeError` over `maxBytes` (default: no limit).
   */
  body(options?: { maxBytes?: number }): Promise<Buffer | undefined>;
  /** Replace the body sent upstream. rewrite/access. */
  setBody(body: string | Buffer | null): void;
}

/** `ctx.response`: the response going back to the client. */
export interface ResponseApi {
  /** Status of the response; settable in header_filter. */
  status: number;
  /** A response header; in header_filter and later, the upstream's (or the gateway's) headers. */
  header(name: string): string | undefined;
  headers(): Record<string, HeaderValue>;
  /**
   * Set (or remove with `null`) a header of the final response, proxied or
   * not. Any phase before the headers are sent (rewrite … header_filter).
   */
  setHeader(name: string, value: HeaderValue | null): void;
  /** body_filter: the current chunk; assign to replace it (`''` drops it). */
  chunk: Buffer | string;
  /** body_filter: true for the last call of the response. */
  readonly eof: boolean;
  /**
   * body_filter: collect the whole body. Returns undefined (and holds the
   * chunk back from the client) until the last chunk, then returns the
   * complete body; assign `chunk` to send something in its place.
   * Only plugins that call this buffer the body.
   */
  holdBody(): Buffer | undefined;
}

/** `ctx.log`: a logger bound to the request (route, plugin, request id). */
export interface LogApi {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

/** A consumer as stored (defaults filled, secrets decrypted), and how it was identified. */
export interface Consumer {
  readonly username: string;
  readonly plugins: Readonly<Record<string, Record<string, unknown>>>;
  readonly group_id?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly desc?: string;
  /** Credential id when identified through a credential. */
  readonly credential_id?: string;
  /** Store revision of the consumer (and credential) used for cache keys. */
  readonly modifiedIndex: number;
}

/** One identity an auth plugin can match against: a consumer's plugin conf, or a credential's. */
export interface ConsumerEntry {
  readonly consumer: Consumer;
  /** The auth plugin's configuration on that consumer/credential (consumer schema, decrypted). */
  readonly conf: Readonly<Record<string, unknown>>;
  readonly credentialId?: string;
}

/**
 * Counters shared by every worker of the node (limit-count's and
 * limit-req's local policy). `incr` adds `delta` within a window of
 * `windowSeconds` that starts at the first increment, and returns the count
 * after the increment and the seconds left in the window.
 */
export interface SharedCounters {
  incr(key: string, delta: number, windowSeconds: number): Promise<{ count: number; ttl: number }> | { count: number; ttl: number };
  /**
   * Count a request against the node-wide leaky bucket `key` (nginx's
   * `limit_req`): the seconds it should wait (0 within `rate` per second), or
   * -1 when it is over `rate` + `burst` and must be refused. Optional for
   * other implementations; the gateway's counters have it.
   */
  leakyBucket?(key: string, rate: number, burst: number): Promise<number> | number;
}

export interface PluginContext {
  /**
   * Request variables (APISIX/nginx names: `uri`, `arg_x`, `http_user_agent`,
   * `cookie_x`, `route_id`, `consumer_name`, ...), computed lazily. Writing
   * `upstream_uri` / `upstream_host` changes what is proxied.
   */
  readonly var: Record<string, unknown>;
  /** The router's match record: `_path`, `_host`, `:ext`, named captures. */
  readonly curr_req_matched: MatchedInfo | undefined;
  /** The matched route after plugin-config/service merge: `{key, value, modifiedIndex}`. */
  readonly matched_route: { readonly key: string; readonly value: Readonly<Record<string, unknown>>; readonly modifiedIndex: number } | undefined;
  readonly route_id: string | undefined;
  readonly route_name: string | undefined;
  readonly service_id: string | undefined;
  readonly service_name: string | undefined;
  /** Identity and version of the configuration in effect (spec/plugins.md §11). */
  readonly conf_type: string | undefined;
  readonly conf_id: string | undefined;
  readonly conf_version: string | undefined;
  /** The upstream node of the current attempt (set before each before_proxy run; changes on retries). */
  readonly balancer_ip: string | undefined;
  readonly balancer_port: number | undefined;
  /** Set by an auth plugin through `attachConsumer()`. */
  readonly consumer: Consumer | undefined;
  readonly consumer_name: string | undefined;
  readonly consumer_group_id: string | undefined;
  readonly request: RequestApi;
  readonly response: ResponseApi;
  readonly log: LogApi;
  /** Identify the consumer (auth plugins): sets `consumer*` and the X-Consumer-* upstream headers. */
  attachConsumer(entry: ConsumerEntry): void;
  /** Consumers and credentials that configure `pluginName`, for auth lookups (cached per config version). */
  consumersWith(pluginName: string): readonly ConsumerEntry[];
  /** A consumer by username (e.g. `anonymous_consumer`), as an entry without plugin conf. */
  consumerByName(username: string): ConsumerEntry | undefined;
  /** `plugin_metadata` value of a plugin (defaults filled), or undefined. */
  pluginMetadata(pluginName: string): Readonly<Record<string, unknown>> | undefined;
  /** Counters shared by the node's workers. */
  readonly counters: SharedCounters;
  /** Free per-request properties. */
  [property: string]: unknown;
}
