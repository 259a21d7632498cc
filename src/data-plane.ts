/**
 * The data plane: follows the config store, compiles snapshots, and serves
 * proxy traffic on `apisix.node_listen`. Each worker process runs one.
 */
import type { Logger } from './log.js';
import type { FngateConfig } from './config/types.js';
import type { ConfigStore } from './store/types.js';
import type { JsonObject } from './resources/types.js';
import type { TimeoutConf, UpstreamConf } from './upstream/types.js';
import type { SharedCounters } from './pdk/context.js';
import type { PluginRegistry } from './plugin/registry.js';
import type { PluginHost } from './plugin/plugin-host.js';
import { ConfigState } from './snapshot/config-state.js';
import { SnapshotBuilder } from './snapshot/build.js';
import { ConfigSource } from './snapshot/config-source.js';
import { PoolManager } from './upstream/pools.js';
import { compileUpstream } from './upstream/compile.js';
import { compileChain } from './plugin/chain.js';
import { cipherFromConfig } from './plugin/encryption.js';
import { createRequestHandler } from './http/handle-request.js';
import { startListeners, type RunningListeners } from './http/listeners.js';

export interface DataPlane {
  /** The config source requests are served from now. */
  source(): ConfigSource;
  readonly proxy: RunningListeners;
  /**
   * Hot plugin reload: swap the registry, then re-read every object from the
   * store (objects whose plugins were unknown before must load again) and
   * recompile. Requests already running finish on their old snapshot.
   */
  reloadPlugins(registry: PluginRegistry, attrs: FngateConfig['plugin_attr']): Promise<void>;
  /** Graceful stop: drain in-flight requests for up to `timeoutMs`, then release pools. */
  close(timeoutMs: number): Promise<void>;
}

export interface DataPlaneOptions {
  readonly config: FngateConfig;
  readonly store: ConfigStore;
  readonly prefix: string;
  readonly plugins: PluginHost;
  readonly counters: SharedCounters;
  readonly logger: Logger;
}

/**
 * @example
 *   const data = await startDataPlane({ config, store, prefix: '/apisix', plugins, counters, logger });
 *   process.once('SIGTERM', () => void data.close(30_000));
 */
export async function startDataPlane(options: DataPlaneOptions): Promise<DataPlane> {
  const { config, store, prefix, plugins, logger } = options;
  const pluginLogger = logger.child({ module: 'plugins' });
  const upstreamLogger = logger.child({ module: 'upstream' });
  const pools = new PoolManager({ logger: upstreamLogger });
  const cipher = cipherFromConfig(config);

  /** One config source with its own state and compile caches (per plugin registry). */
  function createSource(): { source: ConfigSource; builder: SnapshotBuilder } {
    const registry = plugins.registry;
    const builder = new SnapshotBuilder({
      routerKind: config.apisix.router.http,
      compileUpstream: (conf: JsonObject, routeTimeout: JsonObject | undefined, key: string) => compileUpstream(conf as UpstreamConf, {
        pools,
        key,
        defaults: config.nginx_config.http.upstream,
        ...(routeTimeout ? { routeTimeout: routeTimeout as unknown as TimeoutConf } : {}),
        logger: upstreamLogger,
      }),
      compileChain: (confs) => compileChain(confs, registry, pluginLogger),
      logger: logger.child({ module: 'snapshot' }),
    });
    const state = new ConfigState({
      prefix,
      plugins: registry,
      logger: logger.child({ module: 'config' }),
      strictPlugins: config.deployment.config_provider === 'yaml',
      cipher,
    });
    return { source: new ConfigSource({ store, prefix, state, builder, logger: logger.child({ module: 'config' }) }), builder };
  }

  let active = createSource();
  let proxy: RunningListeners | undefined;
  try {
    await active.source.start();
    const handlers = createRequestHandler({
      current: () => active.source.current(),
      config,
      logger: logger.child({ module: 'proxy' }),
      scheme: 'http',
      counters: options.counters,
      compileChain: (confs, fromConsumer) => compileChain(confs, plugins.registry, pluginLogger, fromConsumer),
    });
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
    active.source.close();
    active.builder.releaseAll();
    await pools.close();
    throw err;
  }

  const listening = proxy;
  let closing: Promise<void> | undefined;
  return {
    source: () => active.source,
    proxy: listening,
    async reloadPlugins(registry: PluginRegistry, attrs: FngateConfig['plugin_attr']) {
      await plugins.replace(registry, true);
      await plugins.activate(attrs);
      const next = createSource();
      await next.source.start();
      const previous = active;
      active = next;
      previous.source.close();
      // Pools close only once idle, so requests on the old snapshot finish.
      previous.builder.releaseAll();
    },
    close(timeoutMs: number) {
      closing ??= (async () => {
        await listening.close(timeoutMs);
        active.source.close();
        active.builder.releaseAll();
        await pools.close();
      })();
      return closing;
    },
  };
}
