/**
 * The one error the HTTP/1.1 response parser throws. Its `code` says which
 * rule the upstream broke; messages name the rule (and at most a header
 * *name*), never a header value, because values can carry credentials.
 */
import { FngateError } from '../../errors.js';

/** Every way an upstream response can be rejected, one code per rule. */
export type ResponseParseErrorCode =
  /** Status line: not `HTTP/1.0|1.1 SP 3DIGIT [SP reason]`, or a status outside 100–599. */
  | 'UPSTREAM_RESPONSE_INVALID_STATUS'
  /** A header or trailer line: bad name, space before the colon, obs-fold, control characters. */
  | 'UPSTREAM_RESPONSE_INVALID_HEADER'
  /** The head (or the trailer section) is larger than `maxHeaderBytes`. */
  | 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE'
  /** Content-Length is not a decimal number, too large, or repeated with different values. */
  | 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'
  /** Chunked framing: bad size, over-long size line, missing CRLF after the data. */
  | 'UPSTREAM_RESPONSE_INVALID_CHUNK'
  /** `101 Switching Protocols`, which this client never asks for. */
  | 'UPSTREAM_RESPONSE_UNEXPECTED_UPGRADE'
  /** The connection ended in the middle of a response. */
  | 'UPSTREAM_RESPONSE_INCOMPLETE';

/**
 * A malformed or truncated upstream response. The parser that threw it stays
 * unusable until `reset()`; the connection must be closed, never reused.
 *
 * @example
 *   try { parser.execute(chunk); }
 *   catch (err) { if (err instanceof ResponseParseError && err.code === 'UPSTREAM_RESPONSE_INCOMPLETE') retry(); }
 */
export class ResponseParseError extends FngateError {
  readonly code: ResponseParseErrorCode;
  constructor(code: ResponseParseErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
