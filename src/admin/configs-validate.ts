/**
 * `POST /apisix/admin/configs/validate` (spec/admin-api.md §11): check a
 * whole declarative document — the shape of a standalone `apisix.yaml` — as
 * JSON, or YAML when the body is labelled `application/yaml`. Every item is
 * run through its kind's checker without reference checks, and ids must be
 * unique per list. All errors are collected, not just the first.
 */
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../errors.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import type { CheckContext, JsonObject, ResourceKind, ResourceName } from '../resources/types.js';
import { AdminBadRequestError, InvalidJsonBodyError } from './errors.js';
import { isPlainObject } from './json.js';
import type { AdminReply } from './reply.js';
import { luaTypeName, notAnObjectMessage } from './write-rules.js';

export interface ConfigValidationError {
  readonly resource_type: string;
  readonly resource_id?: string;
  readonly index?: number;
  readonly error: string;
}

/** Lists of a declarative document, in the order errors are reported. Credentials sit inside `consumers`. */
const DOCUMENT_LISTS: readonly ResourceName[] = [
  'routes', 'services', 'upstreams', 'consumers', 'consumer_groups', 'plugin_configs', 'global_rules', 'plugin_metadata', 'ssls',
];

/**
 * Decode the request body as the document it carries.
 *
 * @throws AdminBadRequestError / InvalidJsonBodyError with APISIX's messages.
 * @example
 *   parseConfigDocument(Buffer.from('routes: []\n'), 'application/yaml') // { routes: [] }
 */
export function parseConfigDocument(raw: Buffer | undefined, contentType: string | undefined): JsonObject {
  if (raw === undefined || raw.length === 0) throw new AdminBadRequestError('invalid request body: empty request body');
  const text = raw.toString('utf8');
  let data: unknown;
  if (contentType?.toLowerCase().startsWith('application/yaml')) {
    try {
      data = parseYaml(text) as unknown;
    } catch {
      data = undefined;
    }
    if (!isPlainObject(data)) throw new AdminBadRequestError('invalid request body: invalid yaml request body');
    return data;
  }
  try {
    data = JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidJsonBodyError(err instanceof Error ? err.message : String(err), text);
  }
  if (!isPlainObject(data)) throw new AdminBadRequestError('invalid request body: expected a JSON object');
  return data;
}

/**
 * Every problem of `doc`; empty when it is valid.
 *
 * @example
 *   await validateConfigDocument({ routes: [{ id: 'r1', uri: '/a', upstream_id: 1 }, { id: 'r1', uri: '/b', upstream_id: 1 }] }, kinds, plugins)
 *   // [{ resource_type: 'routes', resource_id: 'r1', index: 1, error: 'found duplicate id r1 in routes' }]
 */
export async function validateConfigDocument(
  doc: JsonObject,
  kinds: ReadonlyMap<ResourceName, ResourceKind>,
  plugins: PluginCatalog,
): Promise<ConfigValidationError[]> {
  const errors: ConfigValidationError[] = [];
  for (const list of DOCUMENT_LISTS) {
    const kind = kinds.get(list);
    if (kind === undefined) continue;
    const version = doc[`${list}_conf_version`];
    if (version !== undefined && typeof version !== 'number') {
      errors.push({ resource_type: list, error: `${list}_conf_version must be a number, got ${luaTypeName(version)}` });
    }
    const items = doc[list];
    if (items === undefined) continue;
    if (!Array.isArray(items)) {
      errors.push({ resource_type: list, error: `${list} must be an array` });
      continue;
    }
    const seen = new Set<string>();
    for (const [index, item] of (items as unknown[]).entries()) {
      const identity = identityOf(list, item);
      const resourceId = identity?.value;
      const problem = await checkItem(list, item, kinds, plugins);
      if (problem !== undefined) {
        errors.push(entry(list, resourceId, index, `invalid ${list} at index ${index}, err: ${problem}`));
      }
      if (identity === undefined) continue;
      if (seen.has(identity.value)) {
        errors.push(entry(list, resourceId, index, `found duplicate ${identity.type} ${identity.value} in ${list}`));
      }
      seen.add(identity.value);
    }
  }
  return errors;
}

/** The reply for a parsed document. */
export async function configsValidateReply(
  doc: JsonObject,
  kinds: ReadonlyMap<ResourceName, ResourceKind>,
  plugins: PluginCatalog,
): Promise<AdminReply> {
  const errors = await validateConfigDocument(doc, kinds, plugins);
  if (errors.length === 0) return { status: 200, body: {} };
  return { status: 400, body: { error_msg: 'Configuration validation failed', errors } };
}

async function checkItem(
  list: ResourceName,
  item: unknown,
  kinds: ReadonlyMap<ResourceName, ResourceKind>,
  plugins: PluginCatalog,
): Promise<string | undefined> {
  if (!isPlainObject(item)) return notAnObjectMessage(list, item);
  let value = item;
  let kind = kinds.get(list) as ResourceKind;
  let selfId = identityOf(list, item)?.value;
  if (list === 'consumers' && selfId?.includes('/credentials/')) {
    // A credential inside `consumers`: id `<username>/credentials/<id>`;
    // the checker sees the bare credential id, as the Admin API gives it.
    kind = kinds.get('credentials') ?? kind;
    value = { ...item, id: selfId.slice(selfId.lastIndexOf('/') + 1) };
  } else if (list === 'consumers' && typeof item.username === 'string') {
    selfId = item.username;
  }
  const ctx: CheckContext = { plugins, fillDefaults: false, selfId };
  // Without fillDefaults the checker works on its own copy (resources/types.ts).
  // A checker that throws is reported like a failed check, as APISIX's pcall does.
  try {
    return await kind.check(value, ctx);
  } catch (err) {
    return errorMessage(err);
  }
}

/** Identity used for duplicate detection: `id`, or for consumers `id` then `username`. */
function identityOf(list: ResourceName, item: unknown): { type: 'id' | 'username'; value: string } | undefined {
  if (!isPlainObject(item)) return undefined;
  if (item.id !== undefined && item.id !== null) return { type: 'id', value: String(item.id) };
  if (list === 'consumers' && item.username !== undefined && item.username !== null) {
    return { type: 'username', value: String(item.username) };
  }
  return undefined;
}

function entry(list: string, resourceId: string | undefined, index: number, error: string): ConfigValidationError {
  return resourceId === undefined
    ? { resource_type: list, index, error }
    : { resource_type: list, resource_id: resourceId, index, error };
}
