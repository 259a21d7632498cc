/**
 * Builds a {@link Snapshot} from the loaded configuration, reusing every
 * compiled piece whose inputs did not change (keyed by the store revisions of
 * the objects it was made from), so that one route update on a gateway with
 * 10,000 routes recompiles one route, not all of them (STYLE.md, after Caddy).
 */
import type { Logger } from '../log.js';
import type { HttpRouterKind } from '../config/types.js';
import type { JsonObject, ResourceName } from '../resources/types.js';
import type { RouteEntry } from '../router/types.js';
import type { CompiledUpstream } from '../upstream/types.js';
import type { CompiledChain } from '../plugin/chain.js';
import { createRouter } from '../router/router.js';
import { RouteCompileError } from '../router/route-conditions.js';
import { compileExpr } from '../router/expr.js';
import { compileFilterFunc } from '../resources/filter-func.js';
import { errorMessage } from '../errors.js';
import type { ConfigState, LoadedItem } from './config-state.js';
import type { CompiledRoute, Snapshot, UpstreamTarget } from './snapshot.js';

export interface SnapshotBuilderOptions {
  readonly routerKind: HttpRouterKind;
  /** Compile a `plugins` object into a chain (the plugin registry's compiler). */
  readonly compileChain: (plugins: Readonly<Record<string, JsonObject>>) => CompiledChain;
  /**
   * Compile an upstream object; `routeTimeout` replaces the upstream's
   * `timeout` (spec/routing.md §5). `key` names the upstream as APISIX does
   * in health-check logs and metrics: the upstream's own key, or the route's
   * or service's for an inline upstream.
   */
  readonly compileUpstream: (conf: JsonObject, routeTimeout: JsonObject | undefined, key: string) => CompiledUpstream;
  readonly logger: Logger;
}

interface Cached<T> {
  readonly version: string;
  readonly value: T;
  /** An upstream compiled for this entry alone (inline, or with a route timeout), released with it. */
  readonly owned?: CompiledUpstream | undefined;
}

type PluginMap = Record<string, JsonObject>;

/** Kinds whose change can alter a compiled route. */
const ROUTE_INPUTS: readonly ResourceName[] = ['routes', 'services', 'plugin_configs', 'upstreams'];

export class SnapshotBuilder {
  private upstreamCache = new Map<string, Cached<CompiledUpstream>>();
  private routeCache = new Map<string, Cached<CompiledRoute>>();
  private previous: Snapshot | undefined;

  constructor(private readonly options: SnapshotBuilderOptions) {}

  /**
   * Build the snapshot for the current state. `changed` lists the kinds that
   * changed since the previous build (all kinds on the first build).
   */
  build(state: ConfigState, changed: ReadonlySet<ResourceName>): Snapshot {
    const prev = this.previous;
    const routesTouched = !prev || ROUTE_INPUTS.some((k) => changed.has(k));

    let upstreams = prev?.upstreams;
    let routes = prev?.routes;
    if (!prev || !upstreams || !routes || routesTouched) {
      upstreams = this.buildUpstreams(state);
      routes = this.buildRoutes(state, upstreams);
    }

    // The router depends only on the routes' match conditions and the hosts
    // inherited from services.
    const routerTouched = !prev || changed.has('routes') || changed.has('services');
    const { router, needsVars } = routerTouched || !prev
      ? this.buildRouter(state)
      : { router: prev.router, needsVars: prev.needsVars };

    const globalChain = !prev || changed.has('global_rules') ? this.buildGlobalChain(state) : prev.globalChain;

    const snapshot: Snapshot = {
      revision: state.revision,
      router,
      routes,
      upstreams,
      services: state.get('services'),
      consumers: state.get('consumers'),
      credentials: state.get('credentials'),
      consumerGroups: state.get('consumer_groups'),
      pluginConfigs: state.get('plugin_configs'),
      globalRules: state.get('global_rules'),
      pluginMetadata: state.get('plugin_metadata'),
      needsVars,
      globalChain,
    };
    this.previous = snapshot;
    return snapshot;
  }

  /** Release every compiled upstream (shutdown). */
  releaseAll(): void {
    for (const entry of this.upstreamCache.values()) entry.value.release();
    for (const entry of this.routeCache.values()) entry.owned?.release();
    this.upstreamCache.clear();
    this.routeCache.clear();
  }

  private buildUpstreams(state: ConfigState): Map<string, CompiledUpstream> {
    const out = new Map<string, CompiledUpstream>();
    const nextCache = new Map<string, Cached<CompiledUpstream>>();
    for (const item of state.get('upstreams').values()) {
      const version = String(item.modRevision);
      const cached = this.upstreamCache.get(item.id);
      try {
        // The cache entry itself is kept when unchanged: releaseReplaced() tells reuse by identity,
        // and releasing a reused upstream would stop its health checker (and drop its pool leases).
        const entry = cached?.version === version
          ? cached
          : { version, value: this.options.compileUpstream(item.value, undefined, item.key) };
        out.set(item.id, entry.value);
        nextCache.set(item.id, entry);
      } catch (err) {
        this.options.logger.error({ key: item.key, err: errorMessage(err) }, 'failed to compile upstream');
      }
    }
    releaseReplaced(this.upstreamCache, nextCache, (entry) => entry.value);
    this.upstreamCache = nextCache;
    return out;
  }

  private buildRoutes(state: ConfigState, upstreams: ReadonlyMap<string, CompiledUpstream>): Map<string, CompiledRoute> {
    const out = new Map<string, CompiledRoute>();
    const nextCache = new Map<string, Cached<CompiledRoute>>();
    const services = state.get('services');
    const pluginConfigs = state.get('plugin_configs');
    const upstreamItems = state.get('upstreams');

    for (const route of state.get('routes').values()) {
      if (route.value.status === 0) continue;
      const service = idOf(route.value.service_id, services);
      const pluginConfig = idOf(route.value.plugin_config_id, pluginConfigs);
      const upstreamRef = route.value.upstream_id ?? (route.value.upstream === undefined ? service?.value.upstream_id : undefined);
      const upstreamItem = idOf(upstreamRef, upstreamItems);
      const version = [route.modRevision, pluginConfig?.modRevision, service?.modRevision, upstreamItem?.modRevision].join('|');
      const cached = this.routeCache.get(route.id);
      let entry: Cached<CompiledRoute>;
      if (cached?.version === version) {
        entry = cached;
      } else {
        try {
          const { compiled, owned } = this.compileRoute(route, service, pluginConfig, upstreams, upstreamItem);
          entry = { version, value: compiled, owned };
        } catch (err) {
          this.options.logger.error({ key: route.key, err: errorMessage(err) }, 'failed to compile route; route skipped');
          continue;
        }
      }
      out.set(route.id, entry.value);
      nextCache.set(route.id, entry);
    }
    releaseReplaced(this.routeCache, nextCache, (entry) => entry.owned);
    this.routeCache = nextCache;
    return out;
  }

  /** Merge plugin config, service and route; resolve the upstream (spec/routing.md §7). */
  private compileRoute(
    route: LoadedItem,
    service: LoadedItem | undefined,
    pluginConfig: LoadedItem | undefined,
    upstreams: ReadonlyMap<string, CompiledUpstream>,
    upstreamItem: LoadedItem | undefined,
  ): { compiled: CompiledRoute; owned: CompiledUpstream | undefined } {
    const r = route.value;
    let fatal: CompiledRoute['fatal'];
    if (r.service_id !== undefined && !service) {
      fatal = { status: 404, reason: `failed to fetch service configuration by id: ${String(r.service_id)}` };
    } else if (r.plugin_config_id !== undefined && !pluginConfig) {
      fatal = { status: 503, reason: `failed to fetch plugin config by id: ${String(r.plugin_config_id)}` };
    }

    // 1. plugin config → route: add only names the route does not configure.
    const routePlugins: PluginMap = { ...asPlugins(r.plugins) };
    let routeVersion = String(route.modRevision);
    if (pluginConfig) {
      for (const [name, conf] of Object.entries(asPlugins(pluginConfig.value.plugins))) {
        if (!(name in routePlugins)) routePlugins[name] = conf;
      }
      routeVersion += `#${pluginConfig.modRevision}`;
    }

    // 2. service + route: route plugins replace the service's per name.
    const s = service?.value;
    const plugins: PluginMap = s ? { ...asPlugins(s.plugins), ...routePlugins } : routePlugins;

    const { target, owned } = this.resolveTarget(route, service, upstreams, upstreamItem);
    const enableWebsocket = typeof r.enable_websocket === 'boolean'
      ? r.enable_websocket
      : s?.enable_websocket === true;

    const chain = Object.keys(plugins).length > 0 ? this.options.compileChain(plugins) : null;
    const compiled: CompiledRoute = {
      identity: {
        id: route.id,
        ...(typeof r.name === 'string' ? { name: r.name } : {}),
        ...(service ? { serviceId: service.id } : {}),
        ...(typeof s?.name === 'string' ? { serviceName: s.name } : {}),
      },
      key: route.key,
      confType: service ? 'route&service' : 'route',
      confId: service ? `${route.id}&${service.id}` : route.id,
      confVersion: service ? `${routeVersion}&${service.modRevision}` : routeVersion,
      fatal,
      target,
      enableWebsocket,
      plugins,
      chain: chain && chain.entries.length > 0 ? chain : null,
      consumerChains: new Map(),
      value: r,
    };
    return { compiled, owned };
  }

  /** Upstream precedence: route upstream_id, route upstream, service upstream_id, service upstream. */
  private resolveTarget(
    route: LoadedItem,
    service: LoadedItem | undefined,
    upstreams: ReadonlyMap<string, CompiledUpstream>,
    upstreamItem: LoadedItem | undefined,
  ): { target: UpstreamTarget; owned: CompiledUpstream | undefined } {
    const r = route.value;
    const routeTimeout = isObject(r.timeout) ? r.timeout : undefined;
    const own = (conf: JsonObject, key: string) => {
      const upstream = this.options.compileUpstream(conf, routeTimeout, key);
      return { target: { kind: 'upstream', upstream } as const, owned: upstream };
    };
    const fromId = (id: unknown) => {
      const shared = upstreams.get(String(id));
      if (!shared || !upstreamItem) {
        return { target: { kind: 'unavailable', status: 502, reason: `failed to find upstream by id: ${String(id)}` } as const, owned: undefined };
      }
      // A route timeout replaces the upstream's, so it needs its own compiled view.
      return routeTimeout ? own(upstreamItem.value, upstreamItem.key) : { target: { kind: 'upstream', upstream: shared } as const, owned: undefined };
    };

    if (r.upstream_id !== undefined) return fromId(r.upstream_id);
    if (isObject(r.upstream)) return own(r.upstream, route.key);
    const s = service?.value;
    if (s?.upstream_id !== undefined) return fromId(s.upstream_id);
    if (isObject(s?.upstream)) return own(s.upstream, service!.key);
    return { target: { kind: 'unavailable', status: 503, reason: 'missing upstream configuration in Route or Service' }, owned: undefined };
  }

  /**
   * All global rules merged into one plugin map. A plugin configured in two
   * rules is left out (and logged), as APISIX does (spec/plugins.md §3).
   */
  private buildGlobalChain(state: ConfigState): CompiledChain | null {
    const merged: Record<string, JsonObject> = {};
    const owners = new Map<string, string>();
    const duplicated = new Set<string>();
    const rules = [...state.get('global_rules').values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const rule of rules) {
      for (const [name, conf] of Object.entries(asPlugins(rule.value.plugins))) {
        if (owners.has(name)) {
          duplicated.add(name);
          this.options.logger.error({ plugin: name, rules: [owners.get(name), rule.id] }, 'plugin configured in more than one global rule; it will not run');
          continue;
        }
        owners.set(name, rule.id);
        merged[name] = conf;
      }
    }
    for (const name of duplicated) delete merged[name];
    if (Object.keys(merged).length === 0) return null;
    const chain = this.options.compileChain(merged);
    return chain.entries.length > 0 ? chain : null;
  }

  private buildRouter(state: ConfigState): { router: Snapshot['router']; needsVars: boolean } {
    const services = state.get('services');
    const entries: RouteEntry<string>[] = [];
    let needsVars = false;
    for (const route of state.get('routes').values()) {
      const r = route.value;
      if (r.status === 0) continue;
      try {
        const service = idOf(r.service_id, services);
        const hosts = hostsOf(r) ?? (service ? hostsOf(service.value) : undefined);
        const remoteAddrs = stringList(r.remote_addrs) ?? (typeof r.remote_addr === 'string' ? [r.remote_addr] : undefined);
        const uris = stringList(r.uris) ?? (typeof r.uri === 'string' ? [r.uri] : []);
        const vars = Array.isArray(r.vars) && r.vars.length > 0 ? compileExpr(r.vars) : undefined;
        const filter = typeof r.filter_func === 'string' ? compileFilterFunc(r.filter_func) : undefined;
        if (vars || filter) needsVars = true;
        entries.push({
          id: route.id,
          value: route.id,
          uris,
          ...(Array.isArray(r.methods) ? { methods: r.methods as string[] } : {}),
          ...(hosts ? { hosts } : {}),
          ...(remoteAddrs ? { remoteAddrs } : {}),
          ...(vars ? { vars } : {}),
          ...(filter ? { filter } : {}),
          priority: typeof r.priority === 'number' ? r.priority : 0,
        });
      } catch (err) {
        this.options.logger.error({ key: route.key, err: errorMessage(err) }, 'failed to prepare route for the router; route skipped');
      }
    }
    return { router: this.createRouterSkippingInvalid(entries), needsVars };
  }

  /**
   * One route the router refuses (say, an invalid remote address that slipped
   * past validation) must not take every other route down: drop it, log it,
   * and build again.
   */
  private createRouterSkippingInvalid(entries: RouteEntry<string>[]): Snapshot['router'] {
    for (;;) {
      try {
        return createRouter(this.options.routerKind, entries);
      } catch (err) {
        if (!(err instanceof RouteCompileError)) throw err;
        const index = entries.findIndex((e) => e.id === err.routeId);
        if (index === -1) throw err;
        this.options.logger.error({ route: err.routeId, err: err.message }, 'route refused by the router; route skipped');
        entries.splice(index, 1);
      }
    }
  }
}

/**
 * Release what an old cache entry held once a new build no longer uses it.
 * Requests still running on the old snapshot finish first: releasing only
 * closes the pools once they are idle.
 */
function releaseReplaced<T>(
  previous: ReadonlyMap<string, Cached<T>>,
  next: ReadonlyMap<string, Cached<T>>,
  held: (entry: Cached<T>) => CompiledUpstream | undefined,
): void {
  for (const [id, entry] of previous) {
    if (next.get(id) === entry) continue;
    held(entry)?.release();
  }
}

function idOf(id: unknown, items: ReadonlyMap<string, LoadedItem>): LoadedItem | undefined {
  if (id === undefined || id === null) return undefined;
  return items.get(String(id));
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asPlugins(v: unknown): PluginMap {
  return isObject(v) ? (v as PluginMap) : {};
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.length > 0 ? v.map(String) : undefined;
}

function hostsOf(v: JsonObject): string[] | undefined {
  const list = stringList(v.hosts) ?? (typeof v.host === 'string' ? [v.host] : undefined);
  return list?.map((h) => h.toLowerCase());
}
