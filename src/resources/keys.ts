/**
 * The store's key layout, shared by the Admin API and the gateway loader
 * (spec/config.md §5.1): `<prefix>/<dir>/<id>`, credentials nested under
 * their consumer as `<prefix>/consumers/<username>/credentials/<id>`, and
 * the `init_dir` directory markers `<prefix>/<dir>/`.
 */
import type { ResourceName } from './types.js';

/** Directories `apisix init_etcd` creates markers for. */
export const APISIX_DIRECTORIES: readonly string[] = [
  'routes', 'services', 'upstreams', 'consumers', 'ssls', 'plugins', 'plugin_metadata', 'global_rules',
  'protos', 'plugin_configs', 'consumer_groups', 'secrets', 'stream_routes',
];

/** Raw value of a directory marker key (not JSON). */
export const INIT_DIR_VALUE = 'init_dir';

const RESOURCE_DIRS: ReadonlyMap<string, ResourceName> = new Map<string, ResourceName>([
  ['routes', 'routes'],
  ['services', 'services'],
  ['upstreams', 'upstreams'],
  ['consumers', 'consumers'],
  ['consumer_groups', 'consumer_groups'],
  ['plugin_configs', 'plugin_configs'],
  ['global_rules', 'global_rules'],
  ['plugin_metadata', 'plugin_metadata'],
  ['ssls', 'ssls'],
]);

const CREDENTIAL_ID = /^([^/]+)\/credentials\/([^/]+)$/;

/**
 * The store directory holding a resource kind: credentials live under `consumers`.
 *
 * @example
 *   resourceDirectory('credentials'); // 'consumers'
 */
export function resourceDirectory(name: ResourceName): string {
  return name === 'credentials' ? 'consumers' : name;
}

function trimPrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/**
 * The full key of an object. Credential ids are `<username>/credentials/<id>`.
 *
 * @example
 *   resourceKey('/apisix', 'routes', '1');                      // '/apisix/routes/1'
 *   resourceKey('/apisix', 'credentials', 'jack/credentials/c1'); // '/apisix/consumers/jack/credentials/c1'
 */
export function resourceKey(prefix: string, name: ResourceName, id: string): string {
  return `${trimPrefix(prefix)}/${resourceDirectory(name)}/${id}`;
}

/**
 * The `init_dir` marker key of a directory.
 *
 * @example
 *   directoryKey('/apisix', 'routes'); // '/apisix/routes/'
 */
export function directoryKey(prefix: string, dir: string): string {
  return `${trimPrefix(prefix)}/${dir}/`;
}

/**
 * Split a credential's id into its consumer and own id.
 *
 * @example
 *   parseCredentialId('jack/credentials/c1'); // { username: 'jack', id: 'c1' }
 *   parseCredentialId('jack');                // undefined
 */
export function parseCredentialId(id: string): { username: string; id: string } | undefined {
  const m = CREDENTIAL_ID.exec(id);
  return m ? { username: m[1] as string, id: m[2] as string } : undefined;
}

/**
 * Which resource a key holds, or undefined for everything that is not a
 * resource object: directory markers, `gen_id`, the `plugins` list, kinds
 * fngate does not serve (protos, secrets, stream routes) and sub-resources
 * such as `services/<id>/graphql_cost_decorations/<id>`.
 *
 * @example
 *   parseResourceKey('/apisix', '/apisix/routes/1');                     // { name: 'routes', id: '1' }
 *   parseResourceKey('/apisix', '/apisix/consumers/jack/credentials/c1'); // { name: 'credentials', id: 'jack/credentials/c1' }
 *   parseResourceKey('/apisix', '/apisix/routes/');                      // undefined (marker)
 */
export function parseResourceKey(prefix: string, key: string): { name: ResourceName; id: string } | undefined {
  const base = `${trimPrefix(prefix)}/`;
  if (!key.startsWith(base)) return undefined;
  const rest = key.slice(base.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const name = RESOURCE_DIRS.get(rest.slice(0, slash));
  const id = rest.slice(slash + 1);
  if (name === undefined || id === '') return undefined;
  if (!id.includes('/')) return { name, id };
  if (name === 'consumers' && parseCredentialId(id)) return { name: 'credentials', id };
  return undefined;
}
