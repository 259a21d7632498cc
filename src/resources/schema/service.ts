/** The `service` schema (spec/routing.md §1.1). */
import type { JsonObject } from '../types.js';
import { hostDef, idSchema, metadataProperties, pluginsDef, scriptDef } from './common.js';
import { upstreamSchema } from './upstream.js';

export const serviceSchema: JsonObject = {
  type: 'object',
  properties: {
    ...metadataProperties(),
    plugins: pluginsDef,
    upstream: upstreamSchema,
    upstream_id: idSchema,
    script: scriptDef,
    enable_websocket: { description: 'enable websocket for request', type: 'boolean' },
    hosts: { type: 'array', items: hostDef, minItems: 1, uniqueItems: true },
  },
  additionalProperties: false,
};
