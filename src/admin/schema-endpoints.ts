/**
 * Schema endpoints: the core JSON schemas (`GET /apisix/admin/schema/{name}`,
 * spec/admin-api.md §9.2) and schema-only validation of a resource body
 * (`POST /apisix/admin/schema/validate/{resource}`, §10).
 */
import { UnsupportedResourceError, coreSchemas, validateSchemaOnly } from '../resources/registry.js';
import { AdminBadRequestError, AdminNotFoundError } from './errors.js';
import { EMPTY_OK, type AdminReply } from './reply.js';

/**
 * @example
 *   coreSchemaReply('route') // { status: 200, body: { type: 'object', ... } }
 */
export function coreSchemaReply(name: string | undefined): AdminReply {
  const schema = name === undefined ? undefined : coreSchemas.get(name);
  if (schema === undefined) throw new AdminBadRequestError(`not found schema: ${name ?? ''}`);
  return { status: 200, body: schema };
}

/**
 * Validate `body` against the resource's JSON schema only: no id injection,
 * no reference or plugin checks, no `invalid configuration` prefix.
 * `200` with an empty body when valid.
 */
export function schemaValidateReply(resource: string, body: unknown): AdminReply {
  let error: string | undefined;
  try {
    error = validateSchemaOnly(resource, body);
  } catch (err) {
    if (err instanceof UnsupportedResourceError) throw new AdminNotFoundError(err.message);
    throw err;
  }
  if (body === undefined) throw new AdminBadRequestError('invalid request body: empty request body');
  if (error !== undefined) throw new AdminBadRequestError(error);
  return EMPTY_OK;
}
