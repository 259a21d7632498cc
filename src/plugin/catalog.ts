/**
 * What the resource checkers need to know about plugins: which are
 * installed and whether a `plugins` object (or a plugin_metadata value) is
 * valid. The plugin registry (src/plugin/registry.ts) implements it; the
 * Admin API and the snapshot loader only see this interface.
 */

/** Where a `plugins` object sits; auth plugins use their consumer schema on consumers/credentials. */
export type PluginTarget = 'route' | 'service' | 'plugin_config' | 'consumer_group' | 'global_rule' | 'consumer' | 'credential';

export interface PluginCatalog {
  /** Installed (enabled in config.yaml and loaded) plugin names. */
  has(name: string): boolean;
  /**
   * Validate a `plugins` object as APISIX does (spec/plugins.md §8.1) and,
   * when `fillDefaults` is set, write schema defaults into it (gateway load,
   * never Admin writes). Returns APISIX's error text or undefined.
   *
   * Messages: `invalid plugin conf <json> for plugin [<name>]`,
   * `unknown plugin [<name>]`,
   * `failed to check the configuration of plugin <name> err: <detail>`.
   */
  checkPlugins(plugins: Record<string, unknown>, target: PluginTarget, fillDefaults: boolean): string | undefined;
  /** True when `name` is an auth plugin (`type: 'auth'`). */
  isAuth(name: string): boolean;
  /** True when a plugin module by this name exists (installed or not): plugin_metadata accepts those. */
  exists(name: string): boolean;
  /** Validate a plugin_metadata value against the plugin's metadata schema. */
  checkMetadata(name: string, value: Record<string, unknown>, fillDefaults: boolean): string | undefined;
  /**
   * Dotted paths of the plugin's secret fields (`encrypt_fields`, spec/plugins.md
   * §8.3) on one kind of object: on consumers and credentials the consumer
   * schema's list when the plugin declares one, else the route list; on
   * plugin_metadata (`'metadata'`) the metadata list. Empty for plugins
   * without secrets and for unknown names; answered for every plugin that
   * exists, installed or not (plugin_metadata accepts those).
   */
  encryptFields(name: string, target: PluginTarget | 'metadata'): readonly string[];
}

/**
 * The catalog of a gateway with no plugins: every name is unknown. Used until
 * the plugin registry is wired in and by tests of the core alone.
 */
export const noPlugins: PluginCatalog = {
  has: () => false,
  checkPlugins(plugins) {
    for (const name of Object.keys(plugins)) return `unknown plugin [${name}]`;
    return undefined;
  },
  isAuth: () => false,
  exists: () => false,
  checkMetadata: () => 'invalid plugin name',
  encryptFields: () => [],
};
