/**
 * Compiles an APISIX upstream object (validated, defaults filled) into the
 * form forward() uses: parsed nodes bound to shared keep-alive pools, a
 * balancer, timeouts in milliseconds and the retry budget. Runs once per
 * config version; nothing here happens per request.
 */
import { silentLogger, type Logger } from '../log.js';
import { balancerType, createBalancer } from './balancer/index.js';
import { UpstreamConfigError } from './errors.js';
import { defaultPort, parseNodes } from './nodes.js';
import type { PoolLease, PoolManager, PoolSettings } from './pools.js';
import type {
  CompiledUpstream,
  PassHost,
  TimeoutConf,
  UpstreamConf,
  UpstreamKeepaliveDefaults,
  UpstreamNode,
  UpstreamScheme,
  UpstreamTimeouts,
} from './types.js';

export interface CompileUpstreamOptions {
  readonly pools: PoolManager;
  /** `nginx_config.http.upstream`: keep-alive pool used when the upstream has no `keepalive_pool`. */
  readonly defaults: UpstreamKeepaliveDefaults;
  /** The route's `timeout`, which replaces the upstream's entirely (spec/routing.md §5). */
  readonly routeTimeout?: TimeoutConf;
  readonly logger?: Logger;
}

/** nginx's default for proxy_connect/send/read_timeout. */
const DEFAULT_TIMEOUT_SECONDS = 60;

/**
 * @example
 *   const upstream = compileUpstream(
 *     { type: 'roundrobin', nodes: { '127.0.0.1:1980': 1 } },
 *     { pools, defaults: { keepalive: 320, keepalive_requests: 1000, keepalive_timeout: 60 } });
 *   // ... forward(upstream, request, hooks) ...
 *   upstream.release(); // when the snapshot holding it is retired
 * @throws UpstreamConfigError for an unsupported scheme or balancer type, a malformed node,
 *   or `pass_host: rewrite` without `upstream_host`
 */
export function compileUpstream(conf: UpstreamConf, options: CompileUpstreamOptions): CompiledUpstream {
  const scheme = upstreamScheme(conf.scheme);
  const type = balancerType(conf.type);
  const passHost: PassHost = conf.pass_host ?? 'pass';
  if (passHost === 'rewrite' && !conf.upstream_host) {
    throw new UpstreamConfigError('pass_host "rewrite" requires upstream_host');
  }
  const specs = parseNodes(conf.nodes, scheme);
  const timeouts = toTimeouts(options.routeTimeout ?? conf.timeout);
  const settings = poolSettings(conf, options.defaults, timeouts);

  const leases: PoolLease[] = [];
  const release = (): void => {
    for (const lease of leases) lease.release();
  };
  try {
    const portSuffixDefault = defaultPort(scheme);
    const nodes: UpstreamNode[] = specs.map((spec, index) => {
      const lease = options.pools.acquire(`${scheme}://${spec.host}:${spec.port}`, settings);
      leases.push(lease);
      return Object.freeze({
        index,
        host: spec.host,
        port: spec.port,
        weight: spec.weight,
        priority: spec.priority,
        metadata: spec.metadata,
        address: `${spec.host}:${spec.port}`,
        hostHeader: spec.port === portSuffixDefault ? spec.host : `${spec.host}:${spec.port}`,
        pool: lease.pool,
      });
    });
    let released = false;
    return Object.freeze({
      nodes: Object.freeze(nodes),
      scheme,
      type,
      passHost,
      upstreamHost: passHost === 'rewrite' ? conf.upstream_host : undefined,
      retries: conf.retries ?? Math.max(0, specs.length - 1),
      retryTimeoutMs: (conf.retry_timeout ?? 0) * 1000,
      timeouts,
      balancer: createBalancer(type, nodes, conf),
      logger: options.logger ?? silentLogger,
      release: () => {
        if (released) return;
        released = true;
        release();
      },
    });
  } catch (err) {
    release();
    throw err;
  }
}

function upstreamScheme(scheme: string | undefined): UpstreamScheme {
  const value = scheme ?? 'http';
  if (value === 'http' || value === 'https') return value;
  // grpc(s) needs HTTP/2 upstreams; tcp/tls/udp/kafka belong to stream proxying.
  throw new UpstreamConfigError(`upstream scheme "${value}" is not supported`);
}

function toTimeouts(timeout: TimeoutConf | undefined): UpstreamTimeouts {
  const t = timeout ?? { connect: DEFAULT_TIMEOUT_SECONDS, send: DEFAULT_TIMEOUT_SECONDS, read: DEFAULT_TIMEOUT_SECONDS };
  return Object.freeze({
    connectMs: Math.round(t.connect * 1000),
    sendMs: Math.round(t.send * 1000),
    readMs: Math.round(t.read * 1000),
  });
}

function poolSettings(conf: UpstreamConf, defaults: UpstreamKeepaliveDefaults, timeouts: UpstreamTimeouts): PoolSettings {
  const pool = conf.keepalive_pool;
  return {
    size: pool?.size ?? defaults.keepalive,
    idleTimeoutMs: Math.round((pool?.idle_timeout ?? defaults.keepalive_timeout) * 1000),
    maxRequests: pool?.requests ?? defaults.keepalive_requests,
    connectTimeoutMs: timeouts.connectMs,
  };
}
