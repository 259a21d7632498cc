/**
 * Every built-in plugin, one file each, named after the plugin. The
 * registry installs those listed in config.yaml's `plugins:` (all of them
 * by default).
 */
import type { PluginDefinition } from '../pdk/plugin.js';

export const builtinPlugins: ReadonlyArray<PluginDefinition<Record<string, unknown>>> = [];
