/**
 * The data plane: follows the config store, compiles snapshots, and serves
 * proxy traffic on `apisix.node_listen`. Each worker process runs one.
 */
import type { Logger } from './log.js';
import type { FngateConfig } from './config/types.js';
import type { ConfigStore } from './store/types.js';
import type { PluginCatalog } from './plugin/catalog.js';
import type { JsonObject } from './resources/types.js';
import type { TimeoutConf, UpstreamConf } from './upstream/types.js';
import { ConfigState } from './snapshot/config-state.js';
import { SnapshotBuilder } from './snapshot/build.js';
import { ConfigSource } from './snapshot/config-source.js';
import { PoolManager } from './upstream/pools.js';
import { compileUpstream } from './upstream/compile.js';
import { createRequestHandler } from './http/handle-request.js';
import { startListeners, type RunningListeners } from './http/listeners.js';

export interface DataPlane {
  readonly source: ConfigSource;
  readonly proxy: RunningListeners;
  /** Graceful stop: drain in-flight requests for up to `timeoutMs`, then release pools. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * @example
 *   const data = await startDataPlane({ config, store, prefix: '/apisix', plugins, logger });
 *   process.once('SIGTERM', () => void data.close(30_000));
 */
export async function startDataPlane(options: {
  readonly config: FngateConfig;
  readonly store: ConfigStore;
  readonly prefix: string;
  readonly plugins: PluginCatalog;
  readonly logger: Logger;
}): Promise<DataPlane> {
  const { config, store, prefix, plugins, logger } = options;
  const pools = new PoolManager({ logger: logger.child({ module: 'upstream' }) });
  const upstreamLogger = logger.child({ module: 'upstream' });
  const builder = new SnapshotBuilder({
    routerKind: config.apisix.router.http,
    compileUpstream: (conf: JsonObject, routeTimeout: JsonObject | undefined) => compileUpstream(conf as UpstreamConf, {
      pools,
      defaults: config.nginx_config.http.upstream,
      ...(routeTimeout ? { routeTimeout: routeTimeout as unknown as TimeoutConf } : {}),
      logger: upstreamLogger,
    }),
    logger: logger.child({ module: 'snapshot' }),
  });
  const state = new ConfigState({
    prefix,
    plugins,
    logger: logger.child({ module: 'config' }),
    strictPlugins: config.deployment.config_provider === 'yaml',
  });
  const source = new ConfigSource({ store, prefix, state, builder, logger: logger.child({ module: 'config' }) });

  let proxy: RunningListeners | undefined;
  try {
    await source.start();
    const handlers = createRequestHandler({ current: () => source.current(), config, logger: logger.child({ module: 'proxy' }), scheme: 'http' });
    const client = config.nginx_config.http;
    proxy = await startListeners({
      name: 'proxy',
      addresses: config.apisix.node_listen,
      ipv6: config.apisix.enable_ipv6,
      onRequest: handlers.handleRequest,
      onUpgrade: handlers.handleUpgrade,
      keepAliveTimeoutMs: client.keepalive_timeout * 1000,
      headersTimeoutMs: client.client_header_timeout * 1000,
      logger,
    });
  } catch (err) {
    source.close();
    builder.releaseAll();
    await pools.close();
    throw err;
  }

  const listening = proxy;
  let closing: Promise<void> | undefined;
  return {
    source,
    proxy: listening,
    close(timeoutMs: number) {
      closing ??= (async () => {
        await listening.close(timeoutMs);
        source.close();
        builder.releaseAll();
        await pools.close();
      })();
      return closing;
    },
  };
}
