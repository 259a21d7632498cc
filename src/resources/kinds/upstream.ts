/** `/upstreams` (spec/admin-api.md §6.3). */
import { checkUpstream, upstreamNeeds } from '../checks/upstream.js';
import { upstreamSchema } from '../schema/upstream.js';
import { compileValidator } from '../validator.js';
import { defineKind } from './define.js';

const validateUpstream = compileValidator(upstreamSchema);

export const upstreamKind = defineKind({
  name: 'upstreams',
  kind: 'upstream',
  schemaName: 'upstream',
  schema: upstreamSchema,
  idProperty: 'id',
  allowPost: true,
  allowPatch: true,
  timestamps: true,
  needs: upstreamNeeds,
  run: (conf, env) => checkUpstream(conf, env, validateUpstream),
});
