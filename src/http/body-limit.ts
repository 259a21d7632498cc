/**
 * `client_max_body_size` for request bodies without a Content-Length
 * (chunked uploads), which cannot be refused up front: the body is counted
 * as it streams, and the stream fails once it passes the limit. The upstream
 * then sees its request aborted and the client gets 413 (handle-request.ts).
 * nginx buffers request bodies before proxying, so its upstream never sees
 * such a request at all; a streaming proxy can only cut it off.
 */
import { Transform, type Readable } from 'node:stream';
import { FngateError } from '../errors.js';

export class RequestBodyTooLargeError extends FngateError {
  readonly code = 'REQUEST_BODY_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`request body is larger than client_max_body_size (${maxBytes} bytes)`);
  }
}

/**
 * The body of `source`, failing with RequestBodyTooLargeError past
 * `maxBytes`. The source is never destroyed (that would close the client's
 * connection before the 413 goes out); it is left paused.
 *
 * @example const body = limitBody(req, 1024 * 1024);
 */
export function limitBody(source: Readable, maxBytes: number): Readable {
  let seen = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new RequestBodyTooLargeError(maxBytes));
      else done(null, chunk);
    },
  });
  // The limit may trip before the upstream client listens: the error stays in `errored` for it.
  limited.on('error', () => {});
  source.on('error', (err) => limited.destroy(err));
  source.pipe(limited);
  return limited;
}

/** Whether `err` (or an error it wraps) is the body limit tripping. */
export function isBodyTooLarge(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof RequestBodyTooLargeError) return true;
  }
  return false;
}
