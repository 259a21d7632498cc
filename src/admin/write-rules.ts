/**
 * Rules every resource write follows before its kind's own checks
 * (spec/admin-api.md §5.2, §5.3, §6 "common first steps").
 */
import { UnsupportedResourceError, validateSchemaOnly } from '../resources/registry.js';
import type { JsonObject } from '../resources/types.js';
import { isPlainObject } from './json.js';

const TIMESTAMPS = ['create_time', 'update_time'] as const;

/**
 * PUT and POST bodies may not carry timestamps, at the top level, inside an
 * inline `upstream`, or as a plugin name. Returns APISIX's message (note the
 * two spaces after the colon) or undefined.
 *
 * @example
 *   forbiddenTimestamp({ upstream: { create_time: 1 } })
 *   // 'the property is forbidden:  upstream.create_time'
 */
export function forbiddenTimestamp(body: JsonObject): string | undefined {
  const scopes: Array<[prefix: string, value: unknown]> = [['', body], ['upstream.', body.upstream], ['plugins.', body.plugins]];
  for (const [prefix, scope] of scopes) {
    if (!isPlainObject(scope)) continue;
    for (const name of TIMESTAMPS) {
      // Lua truthiness: only an absent key or `false` passes.
      if (scope[name] !== undefined && scope[name] !== false) return `the property is forbidden:  ${prefix}${name}`;
    }
  }
  return undefined;
}

/** Unix seconds, as `ngx.time()`. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A value with `id` as its first property (readability of stored JSON; order carries no meaning). */
export function withIdFirst(id: unknown, body: JsonObject): JsonObject {
  const value: JsonObject = { id, ...body };
  value.id = id;
  return value;
}

/** POST ids: the revision of the `gen_id` write, zero-padded to 20 digits (spec/config.md §5.2). */
export function formatGeneratedId(revision: number): string {
  return String(revision).padStart(20, '0');
}

/**
 * The `invalid configuration` message for a body that is JSON but not an
 * object: the schema's own type error where the kind has a core schema.
 */
export function notAnObjectMessage(resource: string, body: unknown): string {
  let detail: string | undefined;
  try {
    detail = validateSchemaOnly(resource, body);
  } catch (err) {
    if (!(err instanceof UnsupportedResourceError)) throw err;
  }
  return `invalid configuration: ${detail ?? `wrong type: expected object, got ${luaTypeName(body)}`}`;
}

/** Lua's name for a JSON value's type, used in APISIX's schema messages. */
export function luaTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'object') return 'table';
  return typeof value;
}
