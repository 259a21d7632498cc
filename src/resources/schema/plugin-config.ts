/** Plugin configs and global rules: named `plugins` objects (spec/admin-api.md §6.6–§6.7). */
import type { JsonObject } from '../types.js';
import { idSchema, metadataProperties, pluginsDef, timestampDef } from './common.js';

export const pluginConfigSchema: JsonObject = {
  type: 'object',
  properties: { ...metadataProperties(), name: { type: 'string' }, plugins: pluginsDef },
  required: ['id', 'plugins'],
  additionalProperties: false,
};

/** Only `id`, `plugins` and the timestamps. */
export const globalRuleSchema: JsonObject = {
  type: 'object',
  properties: { id: idSchema, create_time: timestampDef, update_time: timestampDef, plugins: pluginsDef },
  required: ['id', 'plugins'],
  additionalProperties: false,
};

/** The `<prefix>/plugins` key: the installed list published by the admin node. */
export const pluginListSchema: JsonObject = {
  type: 'array',
  items: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 }, stream: { type: 'boolean' } },
    required: ['name'],
  },
};
