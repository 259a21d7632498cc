/** `/plugin_metadata/<plugin>` (spec/admin-api.md §6.8, spec/plugins.md §10). */
import type { JsonObject } from '../types.js';
import { defineKind, type CheckEnv } from './define.js';

/** What APISIX uses for plugins without a `metadata_schema`. */
const genericMetadataSchema: JsonObject = { type: 'object' };

function checkPluginMetadata(conf: JsonObject, env: CheckEnv): string | undefined {
  const name = env.selfId ?? (typeof conf.id === 'string' ? conf.id : undefined);
  if (name === undefined || name === '') return 'missing plugin name';
  // Any existing plugin module, installed or not, may carry metadata.
  if (!env.plugins.exists(name)) return 'invalid plugin name';
  // The stored `id` is bookkeeping, not part of the plugin's metadata schema.
  const { id: _id, ...metadata } = conf;
  const err = env.plugins.checkMetadata(name, metadata, env.fillDefaults);
  if (err !== undefined) return `invalid configuration: ${err}`;
  if (env.fillDefaults) Object.assign(conf, metadata);
  return undefined;
}

export const pluginMetadataKind = defineKind({
  name: 'plugin_metadata',
  kind: 'plugin_metadata',
  schemaName: 'plugin_metadata',
  schema: genericMetadataSchema,
  idProperty: 'id',
  allowPost: false,
  allowPatch: false,
  timestamps: false,
  run: checkPluginMetadata,
});
