/**
 * What an Admin API handler answers, before it is written to the socket.
 * Handlers return (or throw, see errors.ts) these; only server.ts writes
 * responses, so the common headers are applied in one place.
 */

export interface AdminReply {
  readonly status: number;
  /**
   * JSON value to serialise, or — with `plain` — a string sent verbatim
   * (APISIX answers `done` and a few errors unquoted). Undefined = empty body.
   */
  readonly body?: unknown;
  readonly plain?: boolean;
}

/** 200 with an empty body (schema validation success, HEAD). */
export const EMPTY_OK: AdminReply = { status: 200 };
