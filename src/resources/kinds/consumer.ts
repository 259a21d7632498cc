/** `/consumers` and `/consumers/<username>/credentials` (spec/admin-api.md §6.4–§6.5). */
import { authKeyNeeds, duplicateAuthKey } from '../checks/auth-keys.js';
import { CONSUMER_GROUP_REF, missingReference } from '../checks/references.js';
import { consumerSchema, credentialSchema } from '../schema/consumer.js';
import type { JsonObject } from '../types.js';
import { compileValidator } from '../validator.js';
import { defineKind, isObject, type CheckEnv } from './define.js';

const validateConsumer = compileValidator(consumerSchema);
const validateCredential = compileValidator(credentialSchema);

function checkConsumer(conf: JsonObject, env: CheckEnv): string | undefined {
  const schemaError = validateConsumer(conf);
  if (schemaError !== undefined) return `invalid configuration: ${schemaError}`;
  if (isObject(conf.plugins)) {
    // Auth plugins are checked with their consumer schema (spec/plugins.md §8.2).
    const err = env.plugins.checkPlugins(conf.plugins, 'consumer', env.fillDefaults);
    if (err !== undefined) return `invalid plugins configuration: ${err}`;
  }
  return duplicateAuthKey(conf.plugins, env.selfId, env.refs) ?? missingReference(env.refs, CONSUMER_GROUP_REF, conf.group_id);
}

function checkCredential(conf: JsonObject, env: CheckEnv): string | undefined {
  const schemaError = validateCredential(conf);
  if (schemaError !== undefined) return `invalid configuration: ${schemaError}`;
  if (isObject(conf.plugins)) {
    const err = env.plugins.checkPlugins(conf.plugins, 'credential', env.fillDefaults);
    if (err !== undefined) return `invalid plugins configuration: ${err}`;
    for (const name of Object.keys(conf.plugins)) {
      if (!env.plugins.has(name)) return `unknown plugin ${name}`;
      if (!env.plugins.isAuth(name)) return 'only supports auth type plugins in consumer credential';
    }
  }
  return duplicateAuthKey(conf.plugins, env.selfId, env.refs);
}

export const consumerKind = defineKind({
  name: 'consumers',
  kind: 'consumer',
  schemaName: 'consumer',
  schema: consumerSchema,
  idProperty: 'username',
  allowPost: false,
  allowPatch: false,
  timestamps: true,
  needs: (conf) => ({ ...authKeyNeeds(conf.plugins), references: [[CONSUMER_GROUP_REF, conf.group_id]] }),
  run: checkConsumer,
});

export const credentialKind = defineKind({
  name: 'credentials',
  kind: 'credential',
  schemaName: 'credential',
  schema: credentialSchema,
  idProperty: 'id',
  allowPost: false,
  allowPatch: false,
  timestamps: true,
  needs: (conf) => authKeyNeeds(conf.plugins),
  run: checkCredential,
});
