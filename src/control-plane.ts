/**
 * The control plane of a node: the config store and the Admin API. It runs
 * in the primary process (docs/architecture.md: one writer per node, and the
 * Admin API never competes with proxy traffic for a worker's event loop).
 */
import type { Logger } from './log.js';
import type { FngateConfig } from './config/types.js';
import type { ConfigStore } from './store/types.js';
import type { PluginHost } from './plugin/plugin-host.js';
import { openEmbeddedStore, openEtcdStore, openStandaloneFileStore, StoreUnavailableError } from './store/index.js';
import { errorMessage } from './errors.js';
import { startListeners, type RunningListeners } from './http/listeners.js';
import { createAdminHandler, initStoreDirectories } from './admin/server.js';
import { VERSION } from './version.js';

/** APISIX's key prefix; etcd deployments may configure another one. */
export const DEFAULT_PREFIX = '/apisix';

/** The key prefix the store is used under. */
export function storePrefix(config: FngateConfig): string {
  return config.deployment.config_provider === 'etcd' ? config.deployment.etcd.prefix : DEFAULT_PREFIX;
}

/** Open the store the config names (spec/config.md §4; fngate adds `embedded`). */
export async function openConfiguredStore(config: FngateConfig, logger: Logger): Promise<ConfigStore> {
  switch (config.deployment.config_provider) {
    case 'embedded':
      return openEmbeddedStore({ dir: config.fngate.data_dir, logger });
    case 'yaml':
      return openStandaloneFileStore({
        file: config.fngate.standalone_file,
        prefix: DEFAULT_PREFIX,
        logger,
      });
    case 'etcd':
      return openEtcdWhenReachable(config, logger);
  }
}

/**
 * A node started while etcd is down waits for it instead of exiting: it
 * logs one clear line per attempt and retries with capped backoff until
 * etcd answers (spec/config.md: `startup_retry` attempts each time, then a
 * pause of `resync_delay` seconds growing to 30 s). A configuration error
 * (bad host, unreadable TLS file) is not retried.
 */
async function openEtcdWhenReachable(config: FngateConfig, logger: Logger): Promise<ConfigStore> {
  const etcd = config.deployment.etcd;
  let delayMs = Math.max(1, etcd.resync_delay) * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await openEtcdStore({ config: etcd, logger });
      if (attempt > 1) logger.info({ hosts: etcd.host, attempt }, 'etcd reachable; starting');
      return store;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      logger.error(
        { hosts: etcd.host, attempt, retry_in_s: Math.round(delayMs / 1000), err: errorMessage(err) },
        'etcd is not reachable; fngate waits for it and retries',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 30_000);
    }
  }
}

export interface ControlPlane {
  readonly store: ConfigStore;
  readonly prefix: string;
  readonly admin: RunningListeners | undefined;
  /** Stop the Admin API (draining for up to `timeoutMs`), then close the store. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Open the store and start the Admin API (when enabled).
 *
 * @example
 *   const control = await startControlPlane({ config, logger });
 *   // ... workers read control.store through the relay ...
 *   await control.close(5_000);
 */
export async function startControlPlane(options: {
  readonly config: FngateConfig;
  readonly logger: Logger;
  readonly plugins: PluginHost;
  /** `PUT /apisix/admin/plugins/reload`. */
  readonly reloadPlugins: () => Promise<void>;
}): Promise<ControlPlane> {
  const { config, logger, plugins } = options;
  const prefix = storePrefix(config);
  const store = await openConfiguredStore(config, logger);
  try {
    if (!store.readOnly) await initStoreDirectories(store, prefix);
    let admin: RunningListeners | undefined;
    if (config.apisix.enable_admin) {
      admin = await startListeners({
        name: 'admin',
        addresses: [config.deployment.admin.admin_listen],
        ipv6: false,
        onRequest: createAdminHandler({
          store,
          config,
          plugins,
          pluginEndpoints: plugins,
          onPluginsReload: options.reloadPlugins,
          prefix,
          logger: logger.child({ module: 'admin' }),
          version: VERSION,
        }),
        logger,
      });
    }
    return {
      store,
      prefix,
      admin,
      async close(timeoutMs: number) {
        await admin?.close(timeoutMs);
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
