/**
 * The node's current plugin registry behind a stable object: the Admin API
 * and the snapshot loader hold the host, and a hot reload swaps the registry
 * inside it (spec/plugins.md §7). Requests already running keep the chains
 * (and so the plugin objects) of the snapshot they started with.
 */
import type { Logger } from '../log.js';
import type { PluginCatalog, PluginTarget } from './catalog.js';
import type { PluginEndpoints, PluginSchemaLookup, PluginSchemaType, PluginSubsystem } from '../admin/plugin-endpoints.js';
import type { PluginRegistry } from './registry.js';
import { errorMessage } from '../errors.js';

export class PluginHost implements PluginCatalog, PluginEndpoints {
  #registry: PluginRegistry;

  constructor(registry: PluginRegistry, private readonly logger: Logger) {
    this.#registry = registry;
  }

  get registry(): PluginRegistry {
    return this.#registry;
  }

  /**
   * Call `init()` of every installed plugin (workers do; the primary only
   * validates configurations, as an APISIX admin-only node would).
   */
  async activate(attrs: Readonly<Record<string, Readonly<Record<string, unknown>>>>): Promise<void> {
    for (const plugin of this.#registry.sorted()) {
      const init = plugin.definition.init;
      if (!init) continue;
      const log = this.logger.child({ plugin: plugin.name });
      try {
        await init.call(plugin.definition, {
          attr: attrs[plugin.name] ?? {},
          log: {
            error: (...a: unknown[]) => log.error(a.map(String).join(' ')),
            warn: (...a: unknown[]) => log.warn(a.map(String).join(' ')),
            info: (...a: unknown[]) => log.info(a.map(String).join(' ')),
            debug: (...a: unknown[]) => log.debug(a.map(String).join(' ')),
          },
        });
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'plugin init failed');
      }
    }
  }

  /** Swap in a new registry; `destroy()` of the old plugins runs when `deactivate` is set. */
  async replace(registry: PluginRegistry, deactivate: boolean): Promise<void> {
    const old = this.#registry;
    this.#registry = registry;
    if (!deactivate) return;
    for (const plugin of old.sorted()) {
      try {
        await plugin.definition.destroy?.call(plugin.definition);
      } catch (err) {
        this.logger.error({ plugin: plugin.name, err: errorMessage(err) }, 'plugin destroy failed');
      }
    }
  }

  // ---- PluginCatalog ----

  has(name: string): boolean {
    return this.#registry.has(name);
  }

  exists(name: string): boolean {
    return this.#registry.exists(name);
  }

  isAuth(name: string): boolean {
    return this.#registry.isAuth(name);
  }

  checkPlugins(plugins: Record<string, unknown>, target: PluginTarget, fillDefaults: boolean): string | undefined {
    return this.#registry.checkPlugins(plugins, target, fillDefaults);
  }

  checkMetadata(name: string, value: Record<string, unknown>, fillDefaults: boolean): string | undefined {
    return this.#registry.checkMetadata(name, value, fillDefaults);
  }

  encryptFields(name: string, target: PluginTarget | 'metadata'): readonly string[] {
    return this.#registry.encryptFields(name, target);
  }

  // ---- PluginEndpoints (spec/admin-api.md §9) ----

  list(subsystem: PluginSubsystem): readonly string[] {
    if (subsystem === 'stream') return [];
    return this.#registry.sorted().map((p) => p.name);
  }

  schema(name: string, subsystem: PluginSubsystem, type: PluginSchemaType): PluginSchemaLookup {
    const plugin = subsystem === 'http' ? this.#registry.get(name) : undefined;
    if (!plugin) return { found: false };
    return { found: true, schema: type === 'consumer' ? plugin.consumerSchema : plugin.schema };
  }

  all(subsystem: PluginSubsystem): Readonly<Record<string, unknown>> {
    if (subsystem === 'stream') return {};
    const out: Record<string, unknown> = {};
    for (const plugin of this.#registry.sorted()) {
      const d = plugin.definition;
      out[plugin.name] = {
        version: d.version ?? '0.1',
        priority: plugin.priority,
        schema: plugin.schema,
        ...(plugin.metadataSchema ? { metadata_schema: plugin.metadataSchema } : {}),
        ...(plugin.consumerSchema ? { consumer_schema: plugin.consumerSchema } : {}),
        ...(d.type ? { type: d.type } : {}),
      };
    }
    return out;
  }
}
