/**
 * The gateway side of one stored object (spec/config.md §5.3, spec/plugins.md
 * §8.1): parse, take the id from the key, validate with defaults filled in.
 * Reference checks do not run at load; a route whose `upstream_id` is
 * missing still loads and fails at request time, as in APISIX.
 */
import { errorMessage } from '../errors.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import { decryptForLoad, type FieldCipher } from '../plugin/encryption.js';
import { resourceKinds } from './registry.js';
import type { JsonObject, ResourceName } from './types.js';

export interface LoadContext {
  readonly plugins: PluginCatalog;
  /**
   * Standalone file mode (spec/config.md §6.1): an unknown plugin makes the
   * object invalid. Otherwise (etcd-style stores) it is dropped from the
   * object with a warning and the rest of the object is used, like APISIX's
   * data plane skipping plugins it has not enabled.
   */
  readonly strictPlugins?: boolean;
  /** Decrypts `encrypt_fields` before validation (spec/plugins.md §8.1); absent when encryption is off. */
  readonly cipher?: FieldCipher;
}

export type LoadResult =
  | { readonly ok: true; readonly value: JsonObject; readonly warnings?: readonly string[] }
  | { readonly ok: false; readonly error: string; readonly warnings?: readonly string[] };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drop plugins the catalog does not have, returning one warning per plugin. */
function dropUnknownPlugins(value: JsonObject, plugins: PluginCatalog): string[] {
  const conf = value.plugins;
  if (!isObject(conf)) return [];
  const warnings: string[] = [];
  for (const name of Object.keys(conf)) {
    if (plugins.has(name)) continue;
    delete conf[name];
    warnings.push(`unknown plugin [${name}] ignored: it is not enabled on this gateway`);
  }
  return warnings;
}

function lowerCaseHosts(value: JsonObject): void {
  if (typeof value.host === 'string') value.host = value.host.toLowerCase();
  if (Array.isArray(value.hosts)) value.hosts = value.hosts.map((h: unknown) => (typeof h === 'string' ? h.toLowerCase() : h));
}

/**
 * Load the stored text of `<prefix>/<dir>/<id>` as the gateway uses it:
 * `value.id` becomes the key suffix (a string; `<username>/credentials/<id>`
 * for credentials, the username for consumers), defaults are filled in,
 * route and service hosts are lower-cased.
 *
 * @example
 *   const r = loadResource('routes', '1', '{"id":1,"uri":"/a","upstream_id":2}', { plugins: noPlugins });
 *   // { ok: true, value: { id: '1', uri: '/a', upstream_id: 2, priority: 0, status: 1 } }
 */
export function loadResource(name: ResourceName, id: string, raw: string, ctx: LoadContext): LoadResult {
  const kind = resourceKinds.get(name);
  if (!kind) return { ok: false, error: `unknown resource kind ${name}` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${errorMessage(err)}` };
  }
  if (!isObject(value)) return { ok: false, error: 'invalid configuration: the stored value is not a JSON object' };

  value.id = id;
  const warnings = ctx.strictPlugins ? [] : dropUnknownPlugins(value, ctx.plugins);
  if (ctx.cipher) warnings.push(...decryptForLoad(name, value, ctx.plugins, ctx.cipher));
  let error: string | undefined;
  try {
    error = kind.checkLoaded(value, ctx.plugins);
  } catch (err) {
    // A throwing plugin check must cost one object, not the whole watch.
    error = `failed to check the configuration: ${errorMessage(err)}`;
  }
  if (error !== undefined) return { ok: false, error, ...(warnings.length > 0 ? { warnings } : {}) };
  if (name === 'routes' || name === 'services') lowerCaseHosts(value);
  return { ok: true, value, ...(warnings.length > 0 ? { warnings } : {}) };
}
