/** Consumers, their credentials and consumer groups (spec/admin-api.md §6.4–§6.6). */
import type { JsonObject } from '../types.js';
import { descDef, idSchema, labelsDef, metadataProperties, pluginsDef, timestampDef } from './common.js';

/** Consumer names are the key suffix: `^[a-zA-Z0-9_\-]+$`, 1–256. */
export const usernameDef: JsonObject = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[a-zA-Z0-9_\\-]+$',
};

export const consumerSchema: JsonObject = {
  type: 'object',
  properties: {
    // `id` is the username, set by the gateway when loading (spec/config.md §5.3).
    id: idSchema,
    username: usernameDef,
    desc: descDef,
    labels: labelsDef,
    create_time: timestampDef,
    update_time: timestampDef,
    group_id: idSchema,
    plugins: pluginsDef,
  },
  required: ['username'],
  additionalProperties: false,
};

export const credentialSchema: JsonObject = {
  type: 'object',
  properties: {
    ...metadataProperties(),
    // At load the id is the key suffix `<username>/credentials/<id>` (standalone files use it too).
    id: {
      oneOf: [
        idSchema,
        { type: 'string', minLength: 15, maxLength: 128, pattern: '^[a-zA-Z0-9-_]+/credentials/[a-zA-Z0-9-_.]+$' },
      ],
    },
    // One auth plugin per credential.
    plugins: { type: 'object', maxProperties: 1 },
  },
  additionalProperties: false,
};

export const consumerGroupSchema: JsonObject = {
  type: 'object',
  properties: { ...metadataProperties(), plugins: pluginsDef },
  required: ['id', 'plugins'],
  additionalProperties: false,
};
