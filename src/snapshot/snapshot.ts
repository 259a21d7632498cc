/**
 * The compiled, immutable view of the dynamic configuration that the data
 * plane reads: one router, the routes merged with their service and plugin
 * config, compiled upstreams. A new snapshot is built whenever the store
 * changes and swapped in whole; a request keeps the snapshot it started with
 * (STYLE.md: immutable snapshots, swapped whole).
 */
import type { Router } from '../router/types.js';
import type { JsonObject } from '../resources/types.js';
import type { RouteIdentity } from '../http/request-context.js';
import type { CompiledUpstream } from '../upstream/types.js';
import type { CompiledChain } from '../plugin/chain.js';
import type { ItemMap } from './config-state.js';

/** Where a route's traffic goes, resolved at build time (spec/routing.md §5.2, §7). */
export type UpstreamTarget =
  | { readonly kind: 'upstream'; readonly upstream: CompiledUpstream }
  /** Resolved to nothing usable: the status APISIX answers if the request needs the upstream. */
  | { readonly kind: 'unavailable'; readonly status: 502 | 503; readonly reason: string };

export interface CompiledRoute {
  readonly identity: RouteIdentity;
  /** Store key of the route (`/apisix/routes/1`). */
  readonly key: string;
  /** `route` or `route&service` (APISIX `ctx.conf_type`). */
  readonly confType: string;
  /** `1` or `1&s1`. */
  readonly confId: string;
  /** Changes whenever the route, its plugin config, service or upstream changes. */
  readonly confVersion: string;
  /**
   * A failure that ends every request on this route before plugins run
   * (service or plugin config missing at request time: 404 / 503).
   */
  readonly fatal: { readonly status: number; readonly reason: string } | undefined;
  readonly target: UpstreamTarget;
  readonly enableWebsocket: boolean;
  /** Effective plugins: service < plugin config < route (spec/plugins.md §4). */
  readonly plugins: Readonly<Record<string, JsonObject>>;
  /** The compiled chain of `plugins`; null when the route has none (the fast path). */
  readonly chain: CompiledChain | null;
  /**
   * Chains merged with a consumer (and its group), built on first use per
   * consumer version and kept with this route version (spec/plugins.md §4).
   */
  readonly consumerChains: Map<string, CompiledChain>;
  /** The route as stored (defaults filled), for `ctx.matched_route`. */
  readonly value: JsonObject;
}

export interface Snapshot {
  /** Store revision this snapshot reflects. */
  readonly revision: number;
  /** Payload of a match is the route id; look the compiled route up in `routes`. */
  readonly router: Router<string>;
  readonly routes: ReadonlyMap<string, CompiledRoute>;
  readonly upstreams: ReadonlyMap<string, CompiledUpstream>;
  readonly services: ItemMap;
  readonly consumers: ItemMap;
  readonly credentials: ItemMap;
  readonly consumerGroups: ItemMap;
  readonly pluginConfigs: ItemMap;
  readonly globalRules: ItemMap;
  readonly pluginMetadata: ItemMap;
  /** True when some route has `vars` or `filter_func`, so matching needs request variables. */
  readonly needsVars: boolean;
  /** The merged plugins of every global rule; null when there are none. */
  readonly globalChain: CompiledChain | null;
}
