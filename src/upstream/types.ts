/**
 * Contract of the upstream layer (spec/routing.md §5–§6): the upstream
 * object as configured, its compiled form (nodes with their connection pools
 * and a balancer), and the one outbound verb `forward()` with its hooks and
 * outcome. Compiled upstreams are built once per config version and are
 * immutable afterwards, except for balancer state (round-robin position,
 * active connection counts, latency averages).
 */
import type { Writable, Readable } from 'node:stream';
import type { Logger } from '../log.js';
import type { H1Pool } from './h1/pool.js';
import type { VarGetter } from '../router/types.js';

// ---------------------------------------------------------------------------
// Configuration (APISIX's upstream object, validated, defaults filled)
// ---------------------------------------------------------------------------

/** One node in the array form of `nodes`. */
export interface UpstreamNodeConf {
  /** IPv4, domain, or bracketed IPv6 (`[::1]`). */
  readonly host: string;
  /** Absent: 80 for http, 443 for https. */
  readonly port?: number;
  readonly weight: number;
  /** Default 0; higher groups are used first (spec/routing.md §5.1). */
  readonly priority?: number;
  readonly metadata?: unknown;
}

export type BalancerType = 'roundrobin' | 'chash' | 'least_conn' | 'ewma';
export type HashOn = 'vars' | 'header' | 'cookie' | 'consumer' | 'vars_combinations';
export type PassHost = 'pass' | 'node' | 'rewrite';

/** Seconds, as in APISIX (`{connect, send, read}`, all > 0). */
export interface TimeoutConf {
  readonly connect: number;
  readonly send: number;
  readonly read: number;
}

export interface KeepalivePoolConf {
  readonly size: number;
  /** Seconds. */
  readonly idle_timeout: number;
  readonly requests: number;
}

/** The APISIX upstream object as the runtime sees it (validated, defaults filled). */
export interface UpstreamConf {
  /** Map `{"host:port": weight}` or the array form. Absent or empty: no node (503). */
  readonly nodes?: Readonly<Record<string, number>> | readonly UpstreamNodeConf[];
  readonly type?: BalancerType | string;
  readonly hash_on?: HashOn;
  readonly key?: string;
  readonly retries?: number;
  /** Seconds; 0 = no limit. */
  readonly retry_timeout?: number;
  readonly timeout?: TimeoutConf;
  readonly scheme?: string;
  readonly pass_host?: PassHost;
  readonly upstream_host?: string;
  readonly keepalive_pool?: KeepalivePoolConf;
  /** Health checks `{active, passive?}` (spec/routing.md §5.3). */
  readonly checks?: Readonly<Record<string, unknown>>;
  readonly [other: string]: unknown;
}

/** `nginx_config.http.upstream` (spec/config.md): the default keep-alive pool. */
export interface UpstreamKeepaliveDefaults {
  readonly keepalive: number;
  readonly keepalive_requests: number;
  /** Seconds. */
  readonly keepalive_timeout: number;
}

// ---------------------------------------------------------------------------
// Compiled form
// ---------------------------------------------------------------------------

export type UpstreamScheme = 'http' | 'https';

/** A node after parsing: where to connect and how it is weighted. Immutable. */
export interface UpstreamNode {
  /** Position in `CompiledUpstream.nodes`; balancers index their state by it. */
  readonly index: number;
  /** As configured; IPv6 keeps its brackets (`[::1]`). */
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly priority: number;
  readonly metadata: unknown;
  /** `host:port`, for logs and `$upstream_addr`. */
  readonly address: string;
  /** `Host` sent for `pass_host: node`: host, plus `:port` unless the scheme's default. */
  readonly hostHeader: string;
  /** Keep-alive pool for this node's origin (shared with every upstream using the same origin and settings). */
  readonly pool: H1Pool;
}

/** What a balancer may read from the request. */
export interface PickRequest {
  readonly vars: VarGetter;
  /** Client address after real-ip processing: the chash key when the configured key is empty. */
  readonly remoteAddr: string;
}

/**
 * Picks a node per attempt. `tried` holds the nodes already tried in this
 * request (undefined on the first attempt); they are skipped, and undefined
 * is returned when nothing is left.
 */
export interface Balancer {
  pick(request: PickRequest, tried: ReadonlySet<UpstreamNode> | undefined): UpstreamNode | undefined;
  /** Load-aware balancers (least_conn, ewma) track attempts; undefined for the others. */
  readonly onStart?: (node: UpstreamNode) => void;
  /** `elapsedMs` = time to response headers (or to the failure); `failed` = connect error or timeout. */
  readonly onEnd?: (node: UpstreamNode, elapsedMs: number, failed: boolean) => void;
}

/**
 * Health of an upstream's nodes when it has `checks` (spec/routing.md §5.3):
 * read by the balancer, fed by the checker's probes and by forward(), which
 * reports every attempt (passive checks; ignored without `checks.passive`).
 */
export interface UpstreamHealth {
  /** Nodes unhealthy now; 0 lets a pick skip all health work. */
  readonly unhealthyNodes: number;
  /** Moves on every change of a node's health, so derived sets can be cached. */
  readonly version: number;
  isHealthy(node: UpstreamNode): boolean;
  /** The attempt got a response with this status. */
  reportStatus(node: UpstreamNode, status: number): void;
  /** The attempt could not connect, or the connection broke before a response. */
  reportTcpFailure(node: UpstreamNode): void;
  /** The attempt timed out (connect, send or read). */
  reportTimeout(node: UpstreamNode): void;
}

/** Timeouts in milliseconds (0 = none). */
export interface UpstreamTimeouts {
  readonly connectMs: number;
  readonly sendMs: number;
  readonly readMs: number;
}

export interface CompiledUpstream {
  readonly nodes: readonly UpstreamNode[];
  readonly scheme: UpstreamScheme;
  readonly type: BalancerType;
  readonly passHost: PassHost;
  /** `upstream_host` for `pass_host: rewrite`. */
  readonly upstreamHost: string | undefined;
  /** Extra attempts after the first. */
  readonly retries: number;
  /** 0 = no limit. */
  readonly retryTimeoutMs: number;
  readonly timeouts: UpstreamTimeouts;
  /** Skips unhealthy nodes when `health` is set. */
  readonly balancer: Balancer;
  /** Undefined when the upstream has no `checks`. */
  readonly health: UpstreamHealth | undefined;
  readonly logger: Logger;
  /**
   * Give the node pools back to the pool manager and the health checker
   * back to its registry. Call once, when no snapshot uses this upstream
   * any more; idempotent.
   */
  release(): void;
}

// ---------------------------------------------------------------------------
// forward()
// ---------------------------------------------------------------------------

export interface ForwardRequest extends PickRequest {
  readonly method: string;
  /** Request-target to send, query included (the client's original one unless a plugin set `upstream_uri`). */
  readonly path: string;
  /**
   * Flat `[name, value, name, value, ...]` list built by `buildUpstreamHeaders()`,
   * without `Host`. forward() appends `Host` for `pass_host: pass | rewrite`
   * (so it takes ownership of the array).
   */
  readonly headers: string[];
  /** The client's `Host` header verbatim ('' when absent), for `pass_host: pass`. */
  readonly clientHost: string;
  /**
   * The Host a plugin chose (`ctx.var.upstream_host`, e.g. proxy-rewrite's
   * `host`): it beats `pass_host`, and SNI follows it on HTTPS upstreams.
   */
  readonly hostOverride?: string | undefined;
  /**
   * Request body: a stream piped with backpressure, or a buffer (a plugin
   * read or replaced it); null when the request has none.
   */
  readonly body: Readable | Buffer | null;
  /**
   * The client's response: when it closes before the upstream response has
   * been relayed (the client went away), the upstream request is aborted.
   * An EventEmitter listener, not an AbortSignal: on Node 20 an AbortController
   * per request cost ~15 µs of a ~40 µs proxied request (EventTarget + GC).
   */
  readonly client?: ClientConnection;
}

/** The part of `http.ServerResponse` forward() watches. */
export interface ClientConnection {
  /** True once the connection is gone (`ServerResponse.destroyed`). */
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  on(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

/** What `onResponse` learns about the attempt that produced the response. */
export interface ResponseInfo {
  readonly node: UpstreamNode;
  /** 1-based number of the attempt that answered. */
  readonly attempts: number;
  /** nginx `$upstream_status`, e.g. `200` or `502, 200`. */
  readonly upstreamStatus: string;
}

/** Lower-cased names; repeated fields (`set-cookie`, ...) become arrays. Accepted by `res.writeHead()`. */
export type ResponseHeaders = Record<string, string | string[]>;

export interface ForwardHooks {
  /**
   * The before_proxy phase (spec/plugins.md §2): runs after the node is
   * picked, on every attempt. A value other than undefined stops forwarding
   * and is returned as `{ kind: 'stopped', verdict }`.
   */
  beforeAttempt?(node: UpstreamNode, attempt: number): unknown;
  /**
   * Called once with the upstream status and its end-to-end headers
   * (hop-by-hop fields removed). Returns where the body goes: normally the
   * client `ServerResponse`, after `writeHead()`. Runs from the upstream
   * socket's callbacks, not in the caller's async context.
   */
  onResponse(statusCode: number, headers: ResponseHeaders, info: ResponseInfo): Writable;
}

export type FailureStatus = 502 | 503 | 504;

export type ForwardOutcome =
  | {
      readonly kind: 'proxied';
      /** Status relayed to the client. */
      readonly status: number;
      readonly node: UpstreamNode;
      readonly attempts: number;
      readonly upstreamStatus: string;
      /**
       * Set when the response started but did not complete: the upstream
       * failed mid-body (the client response was destroyed, so the client
       * sees a truncated response) or the client went away.
       */
      readonly error?: Error;
    }
  | {
      /** Nothing was written to the client; the caller renders the error page. */
      readonly kind: 'failed';
      readonly status: FailureStatus;
      readonly reason: string;
      readonly upstreamStatus: string;
      readonly attempts: number;
      readonly error?: Error;
    }
  | {
      /** The client went away (or its request body broke) before a response started; nginx logs 499. */
      readonly kind: 'aborted';
      readonly status: 499;
      readonly upstreamStatus: string;
      readonly attempts: number;
      readonly error?: Error;
    }
  | { readonly kind: 'stopped'; readonly verdict: unknown; readonly attempts: number };
