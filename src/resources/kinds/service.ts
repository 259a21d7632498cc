/** `/services` (spec/admin-api.md §6.2). */
import { UPSTREAM_REF, missingReference } from '../checks/references.js';
import { checkUpstream, upstreamNeeds } from '../checks/upstream.js';
import { serviceSchema } from '../schema/service.js';
import type { JsonObject } from '../types.js';
import { compileValidator } from '../validator.js';
import { defineKind, isObject, pluginsError, scriptError, type CheckEnv } from './define.js';

const validateService = compileValidator(serviceSchema);

function checkService(conf: JsonObject, env: CheckEnv): string | undefined {
  const schemaError = validateService(conf);
  if (schemaError !== undefined) return `invalid configuration: ${schemaError}`;
  if (isObject(conf.upstream)) {
    const err = checkUpstream(conf.upstream, env);
    if (err !== undefined) return err;
  }
  return missingReference(env.refs, UPSTREAM_REF, conf.upstream_id) ?? pluginsError(conf, 'service', env) ?? scriptError(conf);
}

export const serviceKind = defineKind({
  name: 'services',
  kind: 'service',
  schemaName: 'service',
  schema: serviceSchema,
  idProperty: 'id',
  allowPost: true,
  allowPatch: true,
  timestamps: true,
  needs: (conf) => ({
    references: [...(upstreamNeeds(conf.upstream).references ?? []), [UPSTREAM_REF, conf.upstream_id]],
  }),
  run: checkService,
});
