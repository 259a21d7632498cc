/**
 * How a resource kind is declared: its metadata, what it reads from the
 * store, and one synchronous checker that both the Admin API (after the
 * reads) and the gateway loader (without them) run.
 */
import type { PluginCatalog, PluginTarget } from '../../plugin/catalog.js';
import { NO_REFERENCES, prefetchReferences, type Needs, type ReferenceView } from '../checks/references.js';
import type { JsonObject, ResourceKind } from '../types.js';

/** Everything a checker sees besides the object. */
export interface CheckEnv {
  readonly plugins: PluginCatalog;
  /** Gateway load: defaults stay in the object; data-plane leniency applies. */
  readonly fillDefaults: boolean;
  readonly selfId: string | undefined;
  readonly refs: ReferenceView;
}

export interface KindDefinition extends Omit<ResourceKind, 'check' | 'checkLoaded'> {
  /** Store reads the checker consults; `conf` is not validated yet, so read it defensively. */
  readonly needs?: (conf: JsonObject) => Needs;
  /** APISIX's checks in APISIX's order; returns the `error_msg` text or undefined. */
  readonly run: (conf: JsonObject, env: CheckEnv) => string | undefined;
}

/**
 * Build a {@link ResourceKind}. Admin checks run on a deep copy (APISIX
 * validates with defaults injected, but stores the body as sent, spec/admin-api.md
 * §5.4); loads run on the live value so the gateway sees the defaults.
 *
 * @example
 *   export const upstreamKind = defineKind({
 *     name: 'upstreams', kind: 'upstream', schemaName: 'upstream', schema: upstreamSchema,
 *     idProperty: 'id', allowPost: true, allowPatch: true, timestamps: true,
 *     needs: upstreamNeeds,
 *     run: (conf, env) => checkUpstream(conf, env, validateUpstream),
 *   });
 */
export function defineKind(definition: KindDefinition): ResourceKind {
  const { needs, run, ...meta } = definition;
  return {
    ...meta,
    async check(value, ctx) {
      const conf = ctx.fillDefaults ? value : structuredClone(value);
      const refs = ctx.lookup || ctx.list ? await prefetchReferences(ctx, needs?.(conf)) : NO_REFERENCES;
      return run(conf, { plugins: ctx.plugins, fillDefaults: ctx.fillDefaults, selfId: ctx.selfId, refs });
    },
    checkLoaded(value, plugins) {
      return run(value, { plugins, fillDefaults: true, selfId: undefined, refs: NO_REFERENCES });
    },
  };
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lua truthiness of a decoded JSON field: only absent and `false` are false (`null` is a userdata). */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== false;
}

/** A nested field read defensively, for {@link KindDefinition.needs}. */
export function field(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}

/** The plugin catalog's verdict on a `plugins` field (spec/plugins.md §8.1), if there is one. */
export function pluginsError(conf: JsonObject, target: PluginTarget, env: CheckEnv): string | undefined {
  return isObject(conf.plugins) ? env.plugins.checkPlugins(conf.plugins, target, env.fillDefaults) : undefined;
}

/** fngate does not run the dashboard's orchestration scripts (spec/routing.md §1: out of scope). */
export function scriptError(conf: JsonObject): string | undefined {
  return conf.script === undefined ? undefined : "'script' is not supported by fngate";
}
