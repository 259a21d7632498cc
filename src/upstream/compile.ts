/**
 * Compiles an APISIX upstream object (validated, defaults filled) into the
 * form forward() uses: parsed nodes bound to shared keep-alive pools, a
 * balancer, timeouts in milliseconds and the retry budget, and, with
 * `checks`, a health checker the balancer consults. Runs once per config
 * version; nothing here happens per request.
 */
import { silentLogger, type Logger } from '../log.js';
import { balancerType, createBalancer } from './balancer/index.js';
import { UpstreamConfigError } from './errors.js';
import { withHealth } from './health/balancer.js';
import { checkerIdentity, healthCheckRegistry, type HealthCheckLease, type HealthCheckRegistry } from './health/registry.js';
import { readHealthChecks } from './health/settings.js';
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
  /**
   * The upstream's resource key as APISIX names it in `upstream_status` and
   * logs: `/apisix/upstreams/<id>`, or the route's / service's key for an
   * inline upstream.
   */
  readonly key?: string;
  /** Where health checkers live (upstreams with `checks`); default: the process's registry. */
  readonly healthChecks?: HealthCheckRegistry;
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
 *   `pass_host: rewrite` without `upstream_host`, or a malformed `checks.active.req_headers` entry
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
  let healthLease: HealthCheckLease | undefined;
  const release = (): void => {
    for (const lease of leases) lease.release();
    healthLease?.release();
  };
  try {
    const portSuffixDefault = defaultPort(scheme);
    const nodes: UpstreamNode[] = specs.map((spec, index) => {
      const lease = options.pools.acquire({ scheme, host: spec.host, port: spec.port }, settings);
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
    const logger = options.logger ?? silentLogger;
    let balancer = createBalancer(type, nodes, conf);
    if (conf.checks !== undefined && nodes.length > 0) {
      healthLease = acquireChecker(conf, options, nodes, passHost, logger);
      balancer = withHealth(balancer, healthLease.checker, nodes);
    }
    const health = healthLease?.checker;
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
      balancer,
      health,
      logger,
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

function acquireChecker(
  conf: UpstreamConf,
  options: CompileUpstreamOptions,
  nodes: readonly UpstreamNode[],
  passHost: PassHost,
  logger: Logger,
): HealthCheckLease {
  const checks = conf.checks!;
  const settings = readHealthChecks(checks);
  const name = options.key ?? '';
  // As APISIX: a rewritten Host is what the nodes expect, so probes send it too.
  const hostHeader = passHost === 'rewrite' ? conf.upstream_host : undefined;
  const targets = nodes.map((node) => ({ host: node.host, port: node.port }));
  return (options.healthChecks ?? healthCheckRegistry).acquire(
    checkerIdentity(name, checks, targets, hostHeader),
    { name, settings, nodes: targets, hostHeader, logger },
  );
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
