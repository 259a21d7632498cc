/**
 * Resource kinds of the Admin API (routes, services, upstreams, ...) and the
 * contract between them, the Admin API handler and the snapshot loader.
 *
 * The same checks run in two places (spec/plugins.md §8.1):
 * - Admin writes validate a deep copy of the body and store the body as sent
 *   (defaults are never persisted, spec/admin-api.md §5.4);
 * - the gateway loader validates the stored value with `fillDefaults` so the
 *   runtime sees defaults, and without reference checks.
 */
import type { PluginCatalog } from '../plugin/catalog.js';

/** Plain JSON object as parsed from a request body or a stored value. */
export type JsonObject = Record<string, unknown>;

/** URL segment after /apisix/admin/ (also the etcd directory, except credentials). */
export type ResourceName =
  | 'routes'
  | 'services'
  | 'upstreams'
  | 'consumers'
  | 'credentials'
  | 'consumer_groups'
  | 'plugin_configs'
  | 'global_rules'
  | 'plugin_metadata'
  | 'ssls';

export interface CheckContext {
  readonly plugins: PluginCatalog;
  /**
   * Fetch a stored object for reference checks (`upstream_id`, `service_id`,
   * `plugin_config_id`, `group_id`, `client_cert_id`, duplicate auth keys).
   * `dir` is the etcd directory (`upstreams`), `id` the key suffix. Absent when
   * reference checks are off (gateway load, /configs/validate).
   */
  readonly lookup?: (dir: string, id: string) => Promise<JsonObject | undefined>;
  /**
   * All stored objects of a directory, for checks across objects (duplicate
   * auth keys, plugin names unique across global rules). Absent = skip them.
   * Values as the gateway sees them (encrypted fields decrypted). For
   * `consumers` the entries include the credentials, with id
   * `<username>/credentials/<id>` (a prefix read of the directory).
   */
  readonly list?: (dir: string) => Promise<ReadonlyArray<{ id: string; value: JsonObject }>>;
  /**
   * Fill schema defaults into the value (gateway load only). Also selects the
   * data plane's leniency where APISIX has it (bare IPv6 node hosts are
   * bracketed instead of refused; stored, encrypted private keys are not parsed).
   */
  readonly fillDefaults: boolean;
  /**
   * Id of the object being written (from the URL or body), so checks that
   * exclude "self" (global-rule uniqueness, duplicate keys) can do so. For
   * credentials: `<username>/credentials/<id>`.
   */
  readonly selfId?: string;
}

export interface ResourceKind {
  /** URL segment, e.g. `routes`. */
  readonly name: ResourceName;
  /** Word used in messages, e.g. `route`, `plugin config`, `consumer group`. */
  readonly kind: string;
  /** Name of the core schema served at /apisix/admin/schema/<schemaName> (`route`, `plugin_config`, ...). */
  readonly schemaName: string;
  /** The JSON schema (the object served by the Admin API is the one enforced). */
  readonly schema: JsonObject;
  /** Property that carries the identity: `id` everywhere but consumers (`username`). */
  readonly idProperty: 'id' | 'username';
  readonly allowPost: boolean;
  readonly allowPatch: boolean;
  /** Whether the stored value carries create_time/update_time (not plugin_metadata). */
  readonly timestamps: boolean;
  /**
   * Full write-time validation in APISIX's order (schema, then the resource
   * checker: inline upstream, references, plugins, vars, ...). Returns the
   * `error_msg` text (already prefixed, e.g. `invalid configuration: ...`) or
   * undefined. With `ctx.fillDefaults` the value is mutated to carry defaults.
   */
  check(value: JsonObject, ctx: CheckContext): Promise<string | undefined>;
  /**
   * The gateway loader's variant, synchronous (no I/O at load): the same
   * checks with defaults written into `value`, without reference or
   * cross-object checks. Equivalent to `check(value, { plugins, fillDefaults: true })`.
   */
  checkLoaded(value: JsonObject, plugins: PluginCatalog): string | undefined;
}
