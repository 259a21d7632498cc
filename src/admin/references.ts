/**
 * Delete protection (spec/admin-api.md §3.1): an object still referenced by
 * another one cannot be deleted unless `?force=true`. APISIX consults its
 * in-memory copy of the configuration, which can lag; fngate reads the store,
 * so a reference written a moment ago is already seen.
 */
import type { JsonObject, ResourceName } from '../resources/types.js';
import { isPlainObject } from './json.js';
import type { AdminStoreView, StoredObject } from './store-view.js';

/**
 * The message refusing to delete `resource` `id`, or undefined when nothing
 * refers to it. Ids are compared as strings (`service_id: 1` refers to `"1"`);
 * the referrer is named by its key suffix, as the gateway names it.
 *
 * @example
 *   await findReferrer(view, 'services', '1')
 *   // 'can not delete this service directly, route [1] is still using it now'
 */
export async function findReferrer(view: AdminStoreView, resource: ResourceName, id: string): Promise<string | undefined> {
  switch (resource) {
    case 'services': {
      const route = firstReferring(await view.list('routes'), 'service_id', id);
      return route && `can not delete this service directly, route [${route}] is still using it now`;
    }
    case 'upstreams':
      return upstreamReferrer(view, id);
    case 'plugin_configs': {
      const route = firstReferring(await view.list('routes'), 'plugin_config_id', id);
      return route && `can not delete this plugin config, route [${route}] is still using it now`;
    }
    case 'consumer_groups': {
      const consumers = (await view.list('consumers')).filter((c) => !c.id.includes('/'));
      const consumer = firstReferring(consumers, 'group_id', id);
      return consumer && `can not delete this consumer group, consumer [${consumer}] is still using it now`;
    }
    default:
      return undefined;
  }
}

/** Directories whose `plugins` may hold a `traffic-split` pointing at upstreams, with their message label. */
const TRAFFIC_SPLIT_HOLDERS: ReadonlyArray<readonly [dir: string, label: string]> = [
  ['routes', 'route'],
  ['services', 'service'],
  ['plugin_configs', 'plugin_config'],
  ['consumers', 'consumer'],
  ['consumer_groups', 'consumer_group'],
  ['global_rules', 'global_rule'],
];

async function upstreamReferrer(view: AdminStoreView, id: string): Promise<string | undefined> {
  const routes = await view.list('routes');
  const route = firstReferring(routes, 'upstream_id', id);
  if (route) return `can not delete this upstream, route [${route}] is still using it now`;
  const services = await view.list('services');
  const service = firstReferring(services, 'upstream_id', id);
  if (service) return `can not delete this upstream, service [${service}] is still using it now`;
  for (const [dir, label] of TRAFFIC_SPLIT_HOLDERS) {
    const objects = dir === 'routes' ? routes : dir === 'services' ? services : await view.list(dir);
    for (const object of objects) {
      if (trafficSplitUses(object.value, id)) {
        return `can not delete this upstream, plugin in ${label} [${object.id}] is still using it now`;
      }
    }
  }
  return undefined;
}

function firstReferring(objects: readonly StoredObject[], field: string, id: string): string | undefined {
  for (const object of objects) {
    const ref = object.value[field];
    if (ref !== undefined && ref !== null && String(ref) === id) return object.id;
  }
  return undefined;
}

/** `plugins["traffic-split"].rules[].weighted_upstreams[].upstream_id` (spec/routing.md). */
function trafficSplitUses(value: JsonObject, id: string): boolean {
  const plugins = value.plugins;
  if (!isPlainObject(plugins)) return false;
  const split = plugins['traffic-split'];
  if (!isPlainObject(split) || !Array.isArray(split.rules)) return false;
  for (const rule of split.rules as unknown[]) {
    if (!isPlainObject(rule) || !Array.isArray(rule.weighted_upstreams)) continue;
    for (const weighted of rule.weighted_upstreams as unknown[]) {
      const ref = isPlainObject(weighted) ? weighted.upstream_id : undefined;
      if (ref !== undefined && ref !== null && String(ref) === id) return true;
    }
  }
  return false;
}
