/**
 * The resource kinds fngate serves and the core schemas the Admin API
 * publishes (`GET /apisix/admin/schema/<name>`, spec/admin-api.md §9.2) and
 * validates against (`POST /apisix/admin/schema/validate/<resource>`, §10).
 */
import { FngateError } from '../errors.js';
import { consumerKind, credentialKind } from './kinds/consumer.js';
import { consumerGroupKind, globalRuleKind, pluginConfigKind } from './kinds/plugin-holders.js';
import { pluginMetadataKind } from './kinds/plugin-metadata.js';
import { routeKind } from './kinds/route.js';
import { serviceKind } from './kinds/service.js';
import { sslKind } from './kinds/ssl.js';
import { upstreamKind } from './kinds/upstream.js';
import { hostDef, idSchema, labelValueDef, methodSchema } from './schema/common.js';
import { pluginListSchema } from './schema/plugin-config.js';
import {
  activeHealthCheckDef, hashHeaderKeySchema, hashVarsCombinationsKeySchema, hashVarsKeySchema,
  healthCheckDef, passiveHealthCheckDef,
} from './schema/upstream.js';
import type { JsonObject, ResourceKind, ResourceName } from './types.js';
import { compileValidator, type SchemaValidator } from './validator.js';

/** Every kind, keyed by its URL segment. */
export const resourceKinds: ReadonlyMap<ResourceName, ResourceKind> = new Map<ResourceName, ResourceKind>(
  [
    routeKind, serviceKind, upstreamKind, consumerKind, credentialKind, consumerGroupKind,
    pluginConfigKind, globalRuleKind, pluginMetadataKind, sslKind,
  ].map((kind) => [kind.name, kind]),
);

/** Kinds whose objects have a core schema (plugin_metadata is the plugin's own schema). */
const schemaKinds = [...resourceKinds.values()].filter((kind) => kind !== pluginMetadataKind);

/** `apisix/schema_def.lua` names → schema: the kinds' schemas and the fragments APISIX exports. */
export const coreSchemas: ReadonlyMap<string, JsonObject> = new Map<string, JsonObject>([
  ...schemaKinds.map((kind): [string, JsonObject] => [kind.schemaName, kind.schema]),
  ['plugins', pluginListSchema as JsonObject],
  ['id_schema', idSchema],
  ['host_def', hostDef],
  ['method_schema', methodSchema],
  ['label_value_def', labelValueDef],
  ['health_checker', healthCheckDef],
  ['health_checker_active', activeHealthCheckDef],
  ['health_checker_passive', passiveHealthCheckDef],
  ['upstream_hash_vars_schema', hashVarsKeySchema],
  ['upstream_hash_header_schema', hashHeaderKeySchema],
  ['upstream_hash_vars_combinations_schema', hashVarsCombinationsKeySchema],
]);

/** `POST /apisix/admin/schema/validate/<x>` for a resource without a core schema. */
export class UnsupportedResourceError extends FngateError {
  readonly code = 'RESOURCE_UNSUPPORTED';
  constructor(readonly resource: string) {
    super(`Unsupported resource type: ${resource}`);
  }
}

const schemaValidators: ReadonlyMap<string, SchemaValidator> = new Map(
  schemaKinds.map((kind): [string, SchemaValidator] => [kind.name, compileValidator(kind.schema)]),
);

/**
 * Validate a body against a resource's JSON schema only: no `invalid
 * configuration: ` prefix, no id injection, no references, no plugin checks
 * (spec/admin-api.md §10). The body is not modified. Throws
 * {@link UnsupportedResourceError} for names without a core schema.
 *
 * @example
 *   validateSchemaOnly('routes', { uri: 1, upstream_id: 1 });
 *   // 'property "uri" validation failed: wrong type: expected string, got number'
 */
export function validateSchemaOnly(resource: string, body: unknown): string | undefined {
  const validate = schemaValidators.get(resource);
  if (!validate) throw new UnsupportedResourceError(resource);
  return validate(structuredClone(body));
}
