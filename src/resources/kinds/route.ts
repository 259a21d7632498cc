/** `/routes` (spec/admin-api.md §6.1). */
import { errorMessage } from '../../errors.js';
import { compileExpr } from '../../router/expr.js';
import { PLUGIN_CONFIG_REF, SERVICE_REF, UPSTREAM_REF, missingReference } from '../checks/references.js';
import { checkUpstream, upstreamNeeds } from '../checks/upstream.js';
import { FilterFuncError, compileFilterFunc } from '../filter-func.js';
import { routeSchema } from '../schema/route.js';
import type { JsonObject } from '../types.js';
import { compileValidator } from '../validator.js';
import { defineKind, isObject, isSet, pluginsError, scriptError, type CheckEnv } from './define.js';

const validateRoute = compileValidator(routeSchema);

function varsError(vars: unknown): string | undefined {
  try {
    compileExpr(vars);
    return undefined;
  } catch (err) {
    return `failed to validate the 'vars' expression: ${errorMessage(err)}`;
  }
}

function filterFuncError(source: string): string | undefined {
  try {
    compileFilterFunc(source);
    return undefined;
  } catch (err) {
    if (err instanceof FilterFuncError) return err.message;
    throw err;
  }
}

function checkRoute(conf: JsonObject, env: CheckEnv): string | undefined {
  // Before the schema, so users get a plain sentence instead of the allOf/oneOf message.
  if (isSet(conf.host) && isSet(conf.hosts)) return 'only one of host or hosts is allowed';
  if (isSet(conf.remote_addr) && isSet(conf.remote_addrs)) return 'only one of remote_addr or remote_addrs is allowed';

  const schemaError = validateRoute(conf);
  if (schemaError !== undefined) return `invalid configuration: ${schemaError}`;
  if (isObject(conf.upstream)) {
    const err = checkUpstream(conf.upstream, env);
    if (err !== undefined) return err;
  }
  return (
    missingReference(env.refs, UPSTREAM_REF, conf.upstream_id) ??
    missingReference(env.refs, SERVICE_REF, conf.service_id) ??
    missingReference(env.refs, PLUGIN_CONFIG_REF, conf.plugin_config_id) ??
    pluginsError(conf, 'route', env) ??
    (conf.vars === undefined ? undefined : varsError(conf.vars)) ??
    (typeof conf.filter_func === 'string' ? filterFuncError(conf.filter_func) : undefined) ??
    scriptError(conf)
  );
}

export const routeKind = defineKind({
  name: 'routes',
  kind: 'route',
  schemaName: 'route',
  schema: routeSchema,
  idProperty: 'id',
  allowPost: true,
  allowPatch: true,
  timestamps: true,
  needs: (conf) => ({
    references: [
      ...(upstreamNeeds(conf.upstream).references ?? []),
      [UPSTREAM_REF, conf.upstream_id],
      [SERVICE_REF, conf.service_id],
      [PLUGIN_CONFIG_REF, conf.plugin_config_id],
    ],
  }),
  run: checkRoute,
});
