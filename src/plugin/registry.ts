/**
 * The plugin registry: which plugins are installed, their compiled schemas,
 * and validation of plugin configurations (spec/plugins.md §1, §7, §8).
 *
 * Built from definitions (built-ins and custom ones), filtered by the
 * `plugins:` list of config.yaml (default: everything available). Schemas
 * get `_meta` injected and are compiled once. A registry is immutable; a
 * reload builds a new one and swaps it in.
 */
import type { Logger } from '../log.js';
import type { JsonObject } from '../resources/types.js';
import type { PluginCatalog, PluginTarget } from './catalog.js';
import type { AnyPluginDefinition, ConfKind, JsonSchema, PhaseName } from '../pdk/plugin.js';
import { PHASES } from '../pdk/plugin.js';
import { compileValidator, type SchemaValidator } from '../resources/validator.js';
import { checkMeta, injectMeta } from './meta.js';

/** A definition as the registry holds it: schemas injected and compiled. */
export interface LoadedPlugin {
  readonly name: string;
  readonly priority: number;
  readonly definition: AnyPluginDefinition;
  readonly isAuth: boolean;
  /** Schema served by the Admin API and enforced (with `_meta`). */
  readonly schema: JsonSchema;
  readonly consumerSchema: JsonSchema | undefined;
  readonly metadataSchema: JsonSchema | undefined;
  /** Phases this plugin implements. */
  readonly phases: ReadonlySet<PhaseName>;
  readonly validate: SchemaValidator;
  readonly validateConsumer: SchemaValidator | undefined;
  readonly validateMetadata: SchemaValidator;
}

export interface RegistryOptions {
  readonly definitions: ReadonlyArray<AnyPluginDefinition>;
  /** config.yaml `plugins:`; undefined = every available definition. */
  readonly enabled: readonly string[] | undefined;
  readonly logger: Logger;
}

const EMPTY_OBJECT_SCHEMA: JsonSchema = { type: 'object' };

function loadDefinition(definition: AnyPluginDefinition): LoadedPlugin {
  const schema = injectMeta(definition.schema);
  const phases = new Set<PhaseName>();
  for (const phase of PHASES) if (typeof definition[phase] === 'function') phases.add(phase);
  return {
    name: definition.name,
    priority: definition.priority,
    definition,
    isAuth: definition.type === 'auth',
    schema,
    consumerSchema: definition.consumerSchema,
    metadataSchema: definition.metadataSchema,
    phases,
    validate: compileValidator(schema),
    validateConsumer: definition.consumerSchema ? compileValidator(definition.consumerSchema) : undefined,
    validateMetadata: compileValidator(definition.metadataSchema ?? EMPTY_OBJECT_SCHEMA),
  };
}

/**
 * @example
 *   const registry = new PluginRegistry({ definitions: builtinPlugins, enabled: config.plugins, logger });
 *   registry.checkPlugins({ 'key-auth': {} }, 'route', false); // undefined (valid)
 */
export class PluginRegistry implements PluginCatalog {
  /** Every definition that loaded (installed or not): plugin_metadata accepts any of them. */
  readonly #available = new Map<string, LoadedPlugin>();
  /** Installed: available and enabled. */
  readonly #installed = new Map<string, LoadedPlugin>();
  readonly #sorted: readonly LoadedPlugin[];

  constructor(options: RegistryOptions) {
    for (const definition of options.definitions) {
      if (this.#available.has(definition.name)) {
        options.logger.error({ plugin: definition.name }, 'duplicate plugin name; the later definition is ignored');
        continue;
      }
      try {
        this.#available.set(definition.name, loadDefinition(definition));
      } catch (err) {
        options.logger.error({ plugin: definition.name, err: (err as Error).message }, 'plugin failed to load; skipped');
      }
    }
    const wanted = options.enabled ?? [...this.#available.keys()];
    const missing: string[] = [];
    for (const name of wanted) {
      const plugin = this.#available.get(name);
      if (plugin) this.#installed.set(name, plugin);
      else missing.push(name);
    }
    if (missing.length > 0) {
      // APISIX logs and skips a listed plugin that cannot be loaded (spec/plugins.md §7).
      options.logger.warn({ plugins: missing }, 'listed plugins are not available in fngate; skipped');
    }
    this.#sorted = [...this.#installed.values()].sort((a, b) => b.priority - a.priority);
  }

  /** Installed plugin by name. */
  get(name: string): LoadedPlugin | undefined {
    return this.#installed.get(name);
  }

  /** Any loaded plugin by name, installed or not. */
  available(name: string): LoadedPlugin | undefined {
    return this.#available.get(name);
  }

  /** Installed plugins, highest priority first. */
  sorted(): readonly LoadedPlugin[] {
    return this.#sorted;
  }

  has(name: string): boolean {
    return this.#installed.has(name);
  }

  exists(name: string): boolean {
    return this.#available.has(name);
  }

  isAuth(name: string): boolean {
    return this.#available.get(name)?.isAuth === true;
  }

  encryptFields(name: string, target: PluginTarget | 'metadata'): readonly string[] {
    const definition = this.#available.get(name)?.definition;
    if (!definition) return [];
    if (target === 'metadata') return definition.metadataEncryptFields ?? [];
    if ((target === 'consumer' || target === 'credential') && definition.consumerSchema) {
      return definition.consumerEncryptFields ?? definition.encryptFields ?? [];
    }
    return definition.encryptFields ?? [];
  }

  checkPlugins(plugins: Record<string, unknown>, target: PluginTarget, fillDefaults: boolean): string | undefined {
    const consumerSide = target === 'consumer' || target === 'credential';
    for (const [name, conf] of Object.entries(plugins)) {
      if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
        return `invalid plugin conf ${JSON.stringify(conf)} for plugin [${name}]`;
      }
      const plugin = this.#installed.get(name);
      if (!plugin) return `unknown plugin [${name}]`;
      const error = this.#checkOne(plugin, conf as JsonObject, consumerSide ? 'consumer' : 'route', fillDefaults);
      if (error !== undefined) return `failed to check the configuration of plugin ${name} err: ${error}`;
    }
    return undefined;
  }

  checkMetadata(name: string, value: Record<string, unknown>, fillDefaults: boolean): string | undefined {
    const plugin = this.#available.get(name);
    if (!plugin) return 'invalid plugin name';
    const target = fillDefaults ? value : structuredClone(value);
    // The stored metadata carries its `id` (the plugin name); it is not part of the plugin's schema.
    const { id: _id, ...rest } = target;
    const schemaError = plugin.validateMetadata(rest);
    // The resource checker adds APISIX's `invalid configuration: ` prefix.
    if (schemaError !== undefined) return schemaError;
    if (fillDefaults) Object.assign(value, rest);
    const semantic = plugin.definition.check?.(rest, 'metadata');
    return semantic;
  }

  /**
   * One configuration: schema (defaults written only when `fillDefaults`),
   * the plugin's own check, then `_meta`. A failing configuration with
   * `_meta.disable: true` is accepted (spec/plugins.md §5.1).
   */
  #checkOne(plugin: LoadedPlugin, conf: JsonObject, kind: ConfKind, fillDefaults: boolean): string | undefined {
    const value = fillDefaults ? conf : structuredClone(conf);
    const validate = kind === 'consumer' && plugin.isAuth && plugin.validateConsumer ? plugin.validateConsumer : plugin.validate;
    let error = validate(value);
    if (error === undefined) error = plugin.definition.check?.(value, kind);
    if (error !== undefined) {
      const meta = value._meta as { disable?: unknown } | undefined;
      return meta?.disable === true ? undefined : error;
    }
    return checkMeta(value._meta);
  }
}
