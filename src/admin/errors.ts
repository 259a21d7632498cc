/**
 * The Admin API's failures. Each is a class with a stable `code`; the one
 * function {@link errorReply} maps them (and the store's errors) to APISIX's
 * status codes and JSON envelopes (spec/admin-api.md §2, §3, §4.4, §4.5).
 *
 * Envelopes differ on purpose, as in APISIX: most failures are
 * `{"error_msg": ...}`, a missing key is `{"message":"Key not found"}`, a
 * failed token check adds `description`, a bad JSON body echoes `req_body`,
 * and two query errors answer a bare string.
 */
import { FngateError } from '../errors.js';
import type { Logger } from '../log.js';
import { CasConflictError, StoreReadOnlyError, StoreUnavailableError } from '../store/types.js';
import type { AdminReply } from './reply.js';

/** A request the Admin API refuses with 400 `{"error_msg": message}`. */
export class AdminBadRequestError extends FngateError {
  readonly code: string = 'ADMIN_BAD_REQUEST';
}

/** Validation of a resource failed (schema, checker, id rules): 400 `{"error_msg": message}`. */
export class InvalidResourceError extends AdminBadRequestError {
  override readonly code = 'ADMIN_INVALID_RESOURCE';
}

/** A delete refused because another object still refers to the target (spec §3.1). */
export class ResourceInUseError extends AdminBadRequestError {
  override readonly code = 'ADMIN_RESOURCE_IN_USE';
}

/** The body is not valid JSON: 400 with the raw body echoed in `req_body` (spec §3). */
export class InvalidJsonBodyError extends AdminBadRequestError {
  override readonly code = 'ADMIN_INVALID_JSON';
  constructor(detail: string, readonly rawBody: string) {
    super(`invalid request body: ${detail}`);
  }
}

/** The body is larger than the Admin API accepts (spec §1: 1.5 MiB). */
export class BodyTooLargeError extends AdminBadRequestError {
  override readonly code = 'ADMIN_BODY_TOO_LARGE';
  constructor(readonly size: number, readonly limit: number) {
    super(`invalid request body: request size ${size} is greater than the maximum size ${limit} allowed`);
  }
}

/** A query-string error APISIX answers with a plain string body (still labelled JSON). */
export class PlainTextBadRequestError extends FngateError {
  readonly code = 'ADMIN_BAD_QUERY';
}

/** The token check failed: 401 `{"error_msg":"failed to check token","description": reason}`. */
export class AdminAuthError extends FngateError {
  readonly code = 'ADMIN_UNAUTHORIZED';
  constructor(readonly reason: 'missing apikey' | 'wrong apikey' | 'invalid method for role viewer') {
    super(reason);
  }
}

/** The stored object does not exist: 404 `{"message":"Key not found"}` (spec §4.4). */
export class KeyNotFoundError extends FngateError {
  readonly code = 'ADMIN_KEY_NOT_FOUND';
  constructor() {
    super('Key not found');
  }
}

/**
 * Something other than a stored key is missing (an unknown resource type, a
 * method the resource module lacks, a consumer, a plugin): 404 `{"error_msg": message}`.
 */
export class AdminNotFoundError extends FngateError {
  readonly code = 'ADMIN_NOT_FOUND';
}

/** The resource exists but refuses this method: 405 `{"error_msg": message}`. */
export class MethodNotSupportedError extends FngateError {
  readonly code = 'ADMIN_METHOD_NOT_SUPPORTED';
}

/**
 * fngate decision: with `config_provider: yaml` the standalone file is the
 * source of truth, so resource writes are refused with a pointer to it.
 */
export const READ_ONLY_MESSAGE =
  'the Admin API cannot change resources when config_provider is yaml; edit the standalone file instead';

/**
 * The one place where failures become responses.
 *
 * @example
 *   try { reply = await handle(req) } catch (err) { reply = errorReply(err, log) }
 */
export function errorReply(err: unknown, logger: Logger): AdminReply {
  if (err instanceof InvalidJsonBodyError) {
    return { status: 400, body: { error_msg: err.message, req_body: err.rawBody } };
  }
  if (err instanceof AdminBadRequestError) return { status: 400, body: { error_msg: err.message } };
  if (err instanceof PlainTextBadRequestError) return { status: 400, body: err.message, plain: true };
  if (err instanceof AdminAuthError) {
    return { status: 401, body: { error_msg: 'failed to check token', description: err.reason } };
  }
  if (err instanceof KeyNotFoundError) return { status: 404, body: { message: 'Key not found' } };
  if (err instanceof AdminNotFoundError) return { status: 404, body: { error_msg: err.message } };
  if (err instanceof MethodNotSupportedError) return { status: 405, body: { error_msg: err.message } };
  // Store failures (spec §4.5): a lost compare-and-swap and an unreachable
  // backend are both 503 so clients retry; the CAS text is APISIX's.
  if (err instanceof CasConflictError) return { status: 503, body: { error_msg: 'value changed before overwritten' } };
  if (err instanceof StoreUnavailableError) {
    logger.error({ err }, 'config store unavailable');
    return { status: 503, body: { error_msg: err.message } };
  }
  if (err instanceof StoreReadOnlyError) return { status: 400, body: { error_msg: READ_ONLY_MESSAGE } };
  logger.error({ err }, 'admin request failed');
  // Details stay in the log: an internal failure's text is not for the client.
  return { status: 500, body: { error_msg: 'internal error' } };
}
