/**
 * Plugin endpoints of the Admin API (spec/admin-api.md §9): the list of
 * enabled plugins, one plugin's schema, and the hot reload. The plugin
 * registry implements {@link PluginEndpoints}; until it is wired in,
 * {@link noPluginEndpoints} answers as a gateway without plugins.
 */
import type { JsonObject } from '../resources/types.js';
import type { ArgValue } from '../http/args.js';
import { AdminBadRequestError, AdminNotFoundError, PlainTextBadRequestError } from './errors.js';
import type { AdminReply } from './reply.js';

export type PluginSubsystem = 'http' | 'stream';

export type PluginSchemaType = 'schema' | 'consumer';

export type PluginSchemaLookup =
  | { readonly found: false }
  /** `schema` undefined: the plugin has no schema of that type (`not found schema`). */
  | { readonly found: true; readonly schema: JsonObject | undefined };

export interface PluginEndpoints {
  /** Names of the enabled plugins of a subsystem, highest priority first. */
  list(subsystem: PluginSubsystem): readonly string[];
  /**
   * The schema served for an enabled plugin: with the injected `_meta`
   * property and `$comment` marker for `schema`, the consumer schema for
   * `consumer`. `found: false` when the plugin is not enabled in the subsystem.
   */
  schema(name: string, subsystem: PluginSubsystem, type: PluginSchemaType): PluginSchemaLookup;
  /** `GET /plugins?all=true` (deprecated in APISIX): attributes of every enabled plugin by name. */
  all(subsystem: PluginSubsystem): Readonly<Record<string, unknown>>;
}

/** A gateway with no plugins: empty list, every name unknown. */
export const noPluginEndpoints: PluginEndpoints = {
  list: () => [],
  schema: () => ({ found: false }),
  all: () => ({}),
};

type Args = ReadonlyMap<string, readonly ArgValue[]>;

/**
 * `GET /apisix/admin/plugins/list[?subsystem=http|stream]`.
 *
 * @example
 *   pluginListReply(endpoints, args) // { status: 200, body: ['real-ip', 'cors', ...] }
 */
export function pluginListReply(endpoints: PluginEndpoints, args: Args): AdminReply {
  const subsystem = firstArg(args, 'subsystem') ?? 'http';
  if (subsystem !== 'http' && subsystem !== 'stream') throw new PlainTextBadRequestError('invalid subsystem passed');
  return { status: 200, body: endpoints.list(subsystem) };
}

/**
 * `GET /apisix/admin/plugins/{name}` and its alias `/schema/plugins/{name}`;
 * `GET /apisix/admin/plugins?all=true`.
 *
 * @example
 *   pluginSchemaReply(endpoints, 'key-auth', parseQuery('schema_type=consumer'))
 *   // { status: 200, body: <key-auth's consumer schema> }
 */
export function pluginSchemaReply(endpoints: PluginEndpoints, name: string | undefined, args: Args): AdminReply {
  const subsystem = firstArg(args, 'subsystem') ?? 'http';
  if (subsystem !== 'http' && subsystem !== 'stream') {
    throw new AdminBadRequestError(`unsupported subsystem: ${subsystem}`);
  }
  if (firstArg(args, 'all') === 'true') return { status: 200, body: endpoints.all(subsystem) };
  const lookup = name === undefined ? { found: false as const } : endpoints.schema(name, subsystem, firstArg(args, 'schema_type') === 'consumer' ? 'consumer' : 'schema');
  if (!lookup.found) throw new AdminNotFoundError(`plugin not found in subsystem ${subsystem}`);
  if (lookup.schema === undefined) throw new AdminBadRequestError('not found schema');
  return { status: 200, body: lookup.schema };
}

function firstArg(args: Args, name: string): string | undefined {
  const value = args.get(name)?.[0];
  return typeof value === 'string' ? value : undefined;
}
