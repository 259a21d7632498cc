/**
 * Kinds that are mostly a `plugins` object: consumer groups, plugin configs
 * and global rules (spec/admin-api.md §6.6–§6.7).
 */
import { consumerGroupSchema } from '../schema/consumer.js';
import { globalRuleSchema, pluginConfigSchema } from '../schema/plugin-config.js';
import type { JsonObject } from '../types.js';
import { compileValidator } from '../validator.js';
import { defineKind, isObject, pluginsError, type CheckEnv } from './define.js';

const validateConsumerGroup = compileValidator(consumerGroupSchema);
const validatePluginConfig = compileValidator(pluginConfigSchema);
const validateGlobalRule = compileValidator(globalRuleSchema);

/**
 * A plugin runs at most once globally, so it may appear in one global rule
 * only (APISIX 3.18); rewriting the rule that holds it is fine.
 */
function pluginInOtherGlobalRule(conf: JsonObject, env: CheckEnv): string | undefined {
  const rules = env.refs.list('global_rules');
  if (!rules || !isObject(conf.plugins)) return undefined;
  for (const name of Object.keys(conf.plugins)) {
    for (const rule of rules) {
      if (rule.id === env.selfId || !isObject(rule.value.plugins) || !Object.hasOwn(rule.value.plugins, name)) continue;
      return `plugin '${name}' already exists in global rule with id '${rule.id}'`;
    }
  }
  return undefined;
}

export const consumerGroupKind = defineKind({
  name: 'consumer_groups',
  kind: 'consumer group',
  schemaName: 'consumer_group',
  schema: consumerGroupSchema,
  idProperty: 'id',
  allowPost: false,
  allowPatch: true,
  timestamps: true,
  run(conf, env) {
    const schemaError = validateConsumerGroup(conf);
    return schemaError !== undefined ? `invalid configuration: ${schemaError}` : pluginsError(conf, 'consumer_group', env);
  },
});

export const pluginConfigKind = defineKind({
  name: 'plugin_configs',
  kind: 'plugin config',
  schemaName: 'plugin_config',
  schema: pluginConfigSchema,
  idProperty: 'id',
  allowPost: false,
  allowPatch: true,
  timestamps: true,
  run(conf, env) {
    const schemaError = validatePluginConfig(conf);
    return schemaError !== undefined ? `invalid configuration: ${schemaError}` : pluginsError(conf, 'plugin_config', env);
  },
});

export const globalRuleKind = defineKind({
  name: 'global_rules',
  kind: 'global rule',
  schemaName: 'global_rule',
  schema: globalRuleSchema,
  idProperty: 'id',
  allowPost: false,
  allowPatch: true,
  timestamps: true,
  needs: (conf) => (isObject(conf.plugins) && Object.keys(conf.plugins).length > 0 ? { lists: ['global_rules'] } : {}),
  run(conf, env) {
    const schemaError = validateGlobalRule(conf);
    if (schemaError !== undefined) return `invalid configuration: ${schemaError}`;
    return pluginsError(conf, 'global_rule', env) ?? pluginInOtherGlobalRule(conf, env);
  },
});
