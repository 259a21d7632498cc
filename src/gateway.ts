/**
 * One running gateway: the config store, the snapshot it is compiled into,
 * the data-plane listeners and the Admin API, started in that order and
 * stopped in reverse. The CLI's `start` command and the integration tests
 * both go through {@link startGateway}.
 */
import type { Logger } from './log.js';
import type { FngateConfig } from './config/types.js';
import type { ConfigStore } from './store/types.js';
import type { PluginCatalog } from './plugin/catalog.js';
import type { JsonObject } from './resources/types.js';
import type { UpstreamConf } from './upstream/types.js';
import { noPlugins } from './plugin/catalog.js';
import { openEmbeddedStore, openStandaloneFileStore } from './store/index.js';
import { ConfigState } from './snapshot/config-state.js';
import { SnapshotBuilder } from './snapshot/build.js';
import { ConfigSource } from './snapshot/config-source.js';
import { PoolManager } from './upstream/pools.js';
import { compileUpstream } from './upstream/compile.js';
import { createRequestHandler } from './http/handle-request.js';
import { startListeners, type RunningListeners } from './http/listeners.js';
import { createAdminHandler, initStoreDirectories } from './admin/server.js';
import { FngateError } from './errors.js';
import { VERSION } from './version.js';

/** APISIX's key prefix; etcd deployments may configure another one. */
const DEFAULT_PREFIX = '/apisix';

export class UnsupportedProviderError extends FngateError {
  readonly code = 'CONFIG_PROVIDER_UNSUPPORTED';
}

export interface Gateway {
  readonly config: FngateConfig;
  readonly store: ConfigStore;
  readonly source: ConfigSource;
  /** Bound proxy addresses (port 0 resolved). */
  readonly proxy: RunningListeners;
  readonly admin: RunningListeners | undefined;
  /** Graceful stop: drain in-flight requests for up to `worker_shutdown_timeout` seconds. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly config: FngateConfig;
  readonly logger: Logger;
  /** Plugin catalog; the plugin registry provides it. */
  readonly plugins?: PluginCatalog;
}

/** Open the store the config names (spec/config.md §4, fngate adds `embedded`). */
export async function openConfiguredStore(config: FngateConfig, logger: Logger): Promise<ConfigStore> {
  switch (config.deployment.config_provider) {
    case 'embedded':
      return openEmbeddedStore({ dir: config.fngate.data_dir, logger: logger.child({ module: 'store' }) });
    case 'yaml':
      return openStandaloneFileStore({
        file: config.fngate.standalone_file,
        prefix: DEFAULT_PREFIX,
        logger: logger.child({ module: 'store' }),
      });
    case 'etcd':
      throw new UnsupportedProviderError('config_provider "etcd" is not available in this build yet; use "embedded" or "yaml"');
  }
}

/**
 * Start everything; rejects (after cleaning up) if any part fails to start.
 *
 * @example
 *   const gw = await startGateway({ config: await loadConfig('conf/config.yaml'), logger });
 *   process.once('SIGTERM', () => void gw.close());
 */
export async function startGateway(options: StartOptions): Promise<Gateway> {
  const { config, logger } = options;
  const plugins = options.plugins ?? noPlugins;
  const prefix = config.deployment.config_provider === 'etcd' ? config.deployment.etcd.prefix : DEFAULT_PREFIX;
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, 'cleanup step failed');
      }
    }
  };

  try {
    const store = await openConfiguredStore(config, logger);
    cleanups.push(() => store.close());
    if (!store.readOnly) await initStoreDirectories(store, prefix);

    const upstreamDefaults = config.nginx_config.http.upstream;
    const pools = new PoolManager({ logger: logger.child({ module: 'upstream' }) });
    cleanups.push(() => pools.close());
    const builder = new SnapshotBuilder({
      routerKind: config.apisix.router.http,
      compileUpstream: (conf: JsonObject, routeTimeout: JsonObject | undefined) => compileUpstream(conf as UpstreamConf, {
        pools,
        defaults: upstreamDefaults,
        ...(routeTimeout ? { routeTimeout: routeTimeout as unknown as UpstreamConf['timeout'] } : {}),
        logger: logger.child({ module: 'upstream' }),
      }),
      logger: logger.child({ module: 'snapshot' }),
    });
    cleanups.push(() => builder.releaseAll());
    const state = new ConfigState({
      prefix,
      plugins,
      logger: logger.child({ module: 'config' }),
      strictPlugins: config.deployment.config_provider === 'yaml',
    });
    const source = new ConfigSource({ store, prefix, state, builder, logger: logger.child({ module: 'config' }) });
    await source.start();
    cleanups.push(() => source.close());

    const dataPlane = createRequestHandler({ current: () => source.current(), config, logger: logger.child({ module: 'proxy' }), scheme: 'http' });
    const clientTimeouts = config.nginx_config.http;
    const proxy = await startListeners({
      name: 'proxy',
      addresses: config.apisix.node_listen,
      ipv6: config.apisix.enable_ipv6,
      onRequest: dataPlane.handleRequest,
      onUpgrade: dataPlane.handleUpgrade,
      keepAliveTimeoutMs: clientTimeouts.keepalive_timeout * 1000,
      headersTimeoutMs: clientTimeouts.client_header_timeout * 1000,
      logger,
    });
    cleanups.push(() => proxy.close(0));

    let admin: RunningListeners | undefined;
    if (config.apisix.enable_admin) {
      const adminHandler = createAdminHandler({
        store,
        config,
        plugins,
        prefix,
        logger: logger.child({ module: 'admin' }),
        version: VERSION,
      });
      admin = await startListeners({
        name: 'admin',
        addresses: [config.deployment.admin.admin_listen],
        ipv6: false,
        onRequest: adminHandler,
        logger,
      });
      cleanups.push(() => admin?.close(0));
    }

    logger.info({
      proxy: proxy.bound.map((a) => `${a.ip}:${a.port}`),
      admin: admin?.bound.map((a) => `${a.ip}:${a.port}`),
      config_provider: config.deployment.config_provider,
      store: store.backend,
      version: VERSION,
    }, 'fngate started');

    let closing: Promise<void> | undefined;
    return {
      config,
      store,
      source,
      proxy,
      admin,
      close() {
        closing ??= (async () => {
          const timeoutMs = config.nginx_config.worker_shutdown_timeout * 1000;
          logger.info({ inFlight: proxy.inFlight(), timeout_s: config.nginx_config.worker_shutdown_timeout }, 'shutting down');
          await Promise.all([proxy.close(timeoutMs), admin?.close(timeoutMs)]);
          cleanups.length = 0;
          source.close();
          builder.releaseAll();
          await pools.close();
          await store.close();
          logger.info('fngate stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
