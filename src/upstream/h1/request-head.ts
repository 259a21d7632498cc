/**
 * The request line and header block of an upstream request, with the body
 * framing the client decides (RFC 9112 §6):
 *
 * - no body: no framing header, except `Content-Length: 0` for methods that
 *   normally carry one (POST, PUT, PATCH) or when the caller passed a
 *   Content-Length, as undici and nginx do;
 * - a buffer: `Content-Length` of the buffer (a caller's value is replaced:
 *   a plugin may have changed the body);
 * - a stream: the caller's Content-Length when it passed one (the client's
 *   own length, streamed through), otherwise `Transfer-Encoding: chunked`.
 *
 * A caller's Transfer-Encoding is always dropped, so the framing the
 * upstream sees is the one this client writes (no smuggling through a
 * plugin-set header). Names must be tokens and values must not hold CR, LF,
 * NUL or other control characters (RFC 9110 §5.5): anything else could
 * split the request, and is refused with `UpstreamInvalidRequestError`.
 */
import type { Readable } from 'node:stream';
import { sameHeaderName } from '../../util/header-name.js';
import { UpstreamInvalidRequestError } from './errors.js';

/** A request ready to be written. */
export interface PreparedRequest {
  /** Request line and headers, ending with the empty line; written as latin1. */
  readonly head: string;
  /** The Host sent (SNI follows it on TLS connections). */
  readonly host: string;
  /** Stream bodies only: chunked encoding, or the declared length (-1 when chunked or not a stream). */
  readonly chunked: boolean;
  readonly declaredLength: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_TARGET = /[^\x21-\x7e\x80-\xff]/;
const DIGITS = /^\d+$/;

function methodCarriesBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/**
 * @param defaultHost Host sent when `headers` has none (`host[:port]` of the origin).
 * @param close Ask the upstream to close after this response (the connection will not be reused).
 * @throws UpstreamInvalidRequestError
 *
 * @example
 *   prepareRequest('GET', '/a?b=1', ['Accept', '*\/*'], null, '127.0.0.1:1980', false).head
 *   // 'GET /a?b=1 HTTP/1.1\r\nAccept: *\/*\r\nHost: 127.0.0.1:1980\r\n\r\n'
 */
export function prepareRequest(
  method: string,
  path: string,
  headers: readonly string[],
  body: Readable | Buffer | null,
  defaultHost: string,
  close: boolean,
): PreparedRequest {
  if (!TOKEN.test(method)) throw new UpstreamInvalidRequestError(`invalid request method "${method}"`);
  if (path.length === 0 || INVALID_TARGET.test(path)) throw new UpstreamInvalidRequestError('invalid request target (empty, or holds spaces or control characters)');
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let host: string | undefined;
  let givenLength: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) throw new UpstreamInvalidRequestError(`invalid request header name "${name}"`);
    if (INVALID_VALUE.test(value)) throw new UpstreamInvalidRequestError(`request header "${name}" holds a control character`);
    switch (name.length) {
      case 4:
        if (sameHeaderName(name, 'host')) host ??= value;
        break;
      case 14:
        if (sameHeaderName(name, 'content-length')) {
          givenLength ??= value;
          continue;
        }
        break;
      case 17:
        if (sameHeaderName(name, 'transfer-encoding')) continue;
        break;
      default:
        break;
    }
    head += `${name}: ${value}\r\n`;
  }
  if (host === undefined) {
    host = defaultHost;
    head += `Host: ${host}\r\n`;
  }

  let chunked = false;
  let declaredLength = -1;
  if (body === null) {
    if (givenLength !== undefined || methodCarriesBody(method)) head += 'Content-Length: 0\r\n';
  } else if (Buffer.isBuffer(body)) {
    head += `Content-Length: ${body.length}\r\n`;
  } else if (givenLength !== undefined) {
    if (!DIGITS.test(givenLength)) throw new UpstreamInvalidRequestError('invalid request Content-Length');
    declaredLength = Number(givenLength);
    head += `Content-Length: ${givenLength}\r\n`;
  } else {
    chunked = true;
    head += 'Transfer-Encoding: chunked\r\n';
  }
  if (close) head += 'Connection: close\r\n';
  return { head: `${head}\r\n`, host, chunked, declaredLength };
}
