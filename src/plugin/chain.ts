/**
 * A compiled plugin chain: the plugins of one configuration (a route after
 * its merges, the global rules, a route merged with a consumer), sorted,
 * with one list per phase (null when no plugin implements it, so an empty
 * phase costs one check). Built once per configuration version, never per
 * request (STYLE.md, after fastify's per-route hook lists).
 */
import type { Logger } from '../log.js';
import type { PhaseName } from '../pdk/plugin.js';
import { PHASES } from '../pdk/plugin.js';
import type { LoadedPlugin, PluginRegistry } from './registry.js';
import { compileMeta, type MetaSettings } from './meta.js';

export interface ChainEntry {
  readonly plugin: LoadedPlugin;
  readonly name: string;
  /** The configuration (defaults filled at load). */
  readonly conf: Record<string, unknown>;
  readonly meta: MetaSettings;
  /** Effective priority: `_meta.priority` or the plugin's. */
  readonly priority: number;
  /** Brought in by a consumer or consumer group (spec/plugins.md §4 step 3). */
  readonly fromConsumer: boolean;
  /** Phases this configuration runs in (the plugin's, narrowed by `phasesFor`). */
  readonly phases: ReadonlySet<PhaseName>;
}

export type PhaseList = readonly ChainEntry[] | null;

export interface CompiledChain {
  readonly entries: readonly ChainEntry[];
  /** Names in the chain, for `prefer_route` and merges. */
  readonly names: ReadonlySet<string>;
  readonly rewrite: PhaseList;
  readonly access: PhaseList;
  readonly before_proxy: PhaseList;
  readonly header_filter: PhaseList;
  readonly body_filter: PhaseList;
  readonly log: PhaseList;
}

export const EMPTY_CHAIN: CompiledChain = Object.freeze({
  entries: [],
  names: new Set<string>(),
  rewrite: null,
  access: null,
  before_proxy: null,
  header_filter: null,
  body_filter: null,
  log: null,
});

/**
 * Compile `plugins` (name → conf). Unknown names were dropped when the
 * object loaded; `_meta.disable` instances are left out here.
 *
 * @example
 *   const chain = compileChain({ 'key-auth': {}, 'limit-count': {...} }, registry, logger);
 *   chain.access // [limit-count entry]
 */
export function compileChain(
  plugins: Readonly<Record<string, Record<string, unknown>>>,
  registry: PluginRegistry,
  logger: Logger,
  fromConsumer?: ReadonlySet<string>,
): CompiledChain {
  const entries: ChainEntry[] = [];
  let customPriority = false;
  for (const [name, conf] of Object.entries(plugins)) {
    const plugin = registry.get(name);
    if (!plugin) continue;
    let meta: MetaSettings;
    try {
      meta = compileMeta(conf);
    } catch (err) {
      logger.error({ plugin: name, err: (err as Error).message }, 'invalid _meta; plugin skipped');
      continue;
    }
    if (meta.disable) continue;
    if (meta.priority !== undefined) customPriority = true;
    const only = plugin.definition.phasesFor?.(conf);
    entries.push({
      plugin,
      name,
      conf,
      meta,
      priority: meta.priority ?? plugin.priority,
      fromConsumer: fromConsumer?.has(name) ?? false,
      phases: only ? new Set(only.filter((p) => plugin.phases.has(p))) : plugin.phases,
    });
  }
  if (entries.length === 0) return EMPTY_CHAIN;
  // Higher first; `_meta.priority` (if any entry sets one) re-sorts the whole list (spec §5.3).
  entries.sort(customPriority ? (a, b) => b.priority - a.priority : (a, b) => b.plugin.priority - a.plugin.priority);
  const lists = {} as Record<PhaseName, PhaseList>;
  for (const phase of PHASES) {
    const list = entries.filter((e) => e.phases.has(phase));
    lists[phase] = list.length > 0 ? list : null;
  }
  return { entries, names: new Set(entries.map((e) => e.name)), ...lists };
}
