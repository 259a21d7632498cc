/**
 * The gateway's in-memory copy of the dynamic configuration: every stored
 * object that loaded successfully, per resource kind, kept current from the
 * store's watch events (spec/config.md §5.3).
 *
 * An update that fails validation keeps the previous good version of that
 * object (APISIX behaviour), and is logged; a delete always applies.
 */
import type { Logger } from '../log.js';
import type { KeyValue, WatchEvent } from '../store/types.js';
import type { JsonObject, ResourceName } from '../resources/types.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import { parseResourceKey } from '../resources/keys.js';
import { loadResource } from '../resources/load.js';
import type { FieldCipher } from '../plugin/encryption.js';

export interface LoadedItem {
  /** Key suffix, the id APISIX uses at runtime (`1`, `jack`, `jack/credentials/c1`). */
  readonly id: string;
  readonly key: string;
  /** The stored value, validated, with defaults filled and the id normalised. */
  readonly value: JsonObject;
  readonly createRevision: number;
  readonly modRevision: number;
}

export type ItemMap = ReadonlyMap<string, LoadedItem>;

export interface ConfigStateOptions {
  readonly prefix: string;
  readonly plugins: PluginCatalog;
  readonly logger: Logger;
  /** Standalone file mode: unknown plugins make an object invalid instead of being dropped. */
  readonly strictPlugins: boolean;
  /** Decrypts plugin secrets stored encrypted; undefined when encryption is off. */
  readonly cipher?: FieldCipher | undefined;
}

const KINDS: readonly ResourceName[] = [
  'routes', 'services', 'upstreams', 'consumers', 'credentials', 'consumer_groups',
  'plugin_configs', 'global_rules', 'plugin_metadata', 'ssls',
];

export class ConfigState {
  private readonly items = new Map<ResourceName, Map<string, LoadedItem>>();
  /** Bumped per applied change, per kind: the `<res>_conf_version` of APISIX. */
  private readonly versions = new Map<ResourceName, number>();
  /** Kinds changed since the last `takeChanged()`. */
  private changed = new Set<ResourceName>();
  /** Store revision the state reflects. */
  revision = 0;

  constructor(private readonly options: ConfigStateOptions) {
    for (const kind of KINDS) {
      this.items.set(kind, new Map());
      this.versions.set(kind, 0);
    }
  }

  get(kind: ResourceName): ItemMap {
    return this.items.get(kind) ?? new Map();
  }

  version(kind: ResourceName): number {
    return this.versions.get(kind) ?? 0;
  }

  /** Replace everything with the result of a full read (start, or after compaction). */
  reset(kvs: readonly KeyValue[], revision: number): void {
    for (const kind of KINDS) {
      if ((this.items.get(kind)?.size ?? 0) > 0) this.markChanged(kind);
      this.items.set(kind, new Map());
    }
    for (const kv of kvs) this.applyPut(kv);
    this.revision = revision;
  }

  /** Apply one watch event; returns true if it changed the loaded state. */
  apply(event: WatchEvent): boolean {
    if (event.kv.modRevision > this.revision) this.revision = event.kv.modRevision;
    return event.type === 'put' ? this.applyPut(event.kv) : this.applyDelete(event.kv.key);
  }

  /** Kinds changed since the previous call. */
  takeChanged(): ReadonlySet<ResourceName> {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }

  private applyPut(kv: KeyValue): boolean {
    const parsed = parseResourceKey(this.options.prefix, kv.key);
    if (!parsed) return false;
    const map = this.items.get(parsed.name);
    if (!map) return false;
    const previous = map.get(parsed.id);
    if (previous && previous.modRevision === kv.modRevision) return false;
    const result = loadResource(parsed.name, parsed.id, kv.value, {
      plugins: this.options.plugins,
      strictPlugins: this.options.strictPlugins,
      ...(this.options.cipher ? { cipher: this.options.cipher } : {}),
    });
    for (const warning of result.warnings ?? []) {
      this.options.logger.warn({ key: kv.key }, warning);
    }
    if (!result.ok) {
      this.options.logger.error(
        { key: kv.key, revision: kv.modRevision, err: result.error },
        previous ? 'invalid configuration update ignored; keeping the previous version' : 'invalid configuration ignored',
      );
      return false;
    }
    map.set(parsed.id, {
      id: parsed.id,
      key: kv.key,
      value: result.value,
      createRevision: kv.createRevision,
      modRevision: kv.modRevision,
    });
    this.markChanged(parsed.name);
    return true;
  }

  private applyDelete(key: string): boolean {
    const parsed = parseResourceKey(this.options.prefix, key);
    if (!parsed) return false;
    const map = this.items.get(parsed.name);
    if (!map?.delete(parsed.id)) return false;
    this.markChanged(parsed.name);
    return true;
  }

  private markChanged(kind: ResourceName): void {
    this.changed.add(kind);
    this.versions.set(kind, (this.versions.get(kind) ?? 0) + 1);
  }
}
