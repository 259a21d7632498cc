/**
 * Build the node's plugin registry from the built-ins and the custom plugin
 * folders named in config.yaml (`fngate.custom_plugin_dirs`). Used at start
 * and on `PUT /apisix/admin/plugins/reload` (then with `fresh` modules, so
 * custom plugin code edited on disk is picked up).
 */
import type { Logger } from '../log.js';
import type { FngateConfig } from '../config/types.js';
import type { AnyPluginDefinition } from '../pdk/plugin.js';
import { builtinPlugins } from '../plugins/index.js';
import { loadPluginDirectory } from './module-loader.js';
import { PluginRegistry } from './registry.js';

/**
 * @example
 *   const registry = await loadRegistry(config, logger, { fresh: false });
 */
export async function loadRegistry(config: FngateConfig, logger: Logger, options: { fresh: boolean }): Promise<PluginRegistry> {
  const definitions: Array<AnyPluginDefinition> = [...builtinPlugins];
  for (const dir of config.fngate.custom_plugin_dirs) {
    // Failures are logged by the loader (with file and code) and skipped, as APISIX does.
    const { plugins } = await loadPluginDirectory(dir, { fresh: options.fresh, logger });
    definitions.push(...(plugins as Array<AnyPluginDefinition>));
  }
  return new PluginRegistry({ definitions, enabled: config.plugins, logger: logger.child({ module: 'plugins' }) });
}
