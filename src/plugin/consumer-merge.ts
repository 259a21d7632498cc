/**
 * Merging a consumer (and its consumer group) into the route's plugins once
 * an auth plugin identified it (spec/plugins.md §4, step 3):
 * group plugins are written over the route's, consumer plugins over those;
 * names the route did not have are marked as coming from the consumer, and
 * only those (when not auth plugins) run the rewrite phase again.
 *
 * The merged chain is compiled once per (route version, consumer version,
 * group version) and cached on the compiled route.
 */
import type { CompiledRoute, Snapshot } from '../snapshot/snapshot.js';
import type { Consumer } from '../pdk/context.js';
import type { JsonObject } from '../resources/types.js';
import type { CompiledChain } from './chain.js';

/** Cap per route, so a route hit by very many consumers does not grow without bound. */
const MAX_CACHED_PER_ROUTE = 1024;

export type MergeResult =
  | { readonly ok: true; readonly chain: CompiledChain; readonly confType: string; readonly confId: string; readonly confVersion: string }
  /** The consumer's group is gone: APISIX answers 503. */
  | { readonly ok: false; readonly status: 503; readonly reason: string };

/**
 * @example
 *   const merged = mergeConsumer(route, consumer, snapshot, compile);
 *   if (merged.ok) chain = merged.chain;
 */
export function mergeConsumer(
  route: CompiledRoute,
  consumer: Consumer,
  snapshot: Snapshot,
  compile: (plugins: Readonly<Record<string, JsonObject>>, fromConsumer: ReadonlySet<string>) => CompiledChain,
): MergeResult {
  let group;
  if (consumer.group_id !== undefined) {
    group = snapshot.consumerGroups.get(consumer.group_id);
    if (!group) return { ok: false, status: 503, reason: `failed to fetch consumer group config by id: ${consumer.group_id}` };
  }
  const confType = `${route.confType}&consumer${group ? '&consumer_group' : ''}`;
  const confId = `${route.confId}&${consumer.username}${group ? `&${group.id}` : ''}`;
  const confVersion = `${route.confVersion}&${consumer.modifiedIndex}${group ? `&${group.modRevision}` : ''}`;
  const cacheKey = `${consumer.username}#${consumer.modifiedIndex}#${group?.modRevision ?? ''}`;

  let chain = route.consumerChains.get(cacheKey);
  if (!chain) {
    const merged: Record<string, JsonObject> = { ...route.plugins };
    const fromConsumer = new Set<string>();
    const layers = [group?.value.plugins, consumer.plugins] as const;
    for (const layer of layers) {
      if (typeof layer !== 'object' || layer === null) continue;
      for (const [name, conf] of Object.entries(layer as Record<string, JsonObject>)) {
        if (!(name in route.plugins)) fromConsumer.add(name);
        merged[name] = conf;
      }
    }
    chain = compile(merged, fromConsumer);
    if (route.consumerChains.size >= MAX_CACHED_PER_ROUTE) {
      const oldest = route.consumerChains.keys().next().value;
      if (oldest !== undefined) route.consumerChains.delete(oldest);
    }
    route.consumerChains.set(cacheKey, chain);
  }
  return { ok: true, chain, confType, confId, confVersion };
}
