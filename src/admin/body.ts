/**
 * Request bodies of the Admin API: capped at 1.5 MiB (spec/admin-api.md §1)
 * and parsed as JSON. Reading stops counting — and stops keeping bytes — as
 * soon as the cap is passed, so an oversized upload never grows memory.
 */
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError, InvalidJsonBodyError } from './errors.js';

/** APISIX's `MAX_REQ_BODY`: 1024 * 1024 * 1.5 bytes. */
export const MAX_ADMIN_BODY_BYTES = 1_572_864;

/**
 * Read the whole body, or undefined when it is empty.
 *
 * A declared `Content-Length` over the limit fails before any byte is read
 * (its value is the size in the message, as nginx reports it); a chunked body
 * fails once the bytes received pass the limit. In both cases the rest of
 * the upload is left to Node, which discards it while the 400 goes out.
 *
 * @example
 *   const raw = await readBody(req); // Buffer | undefined
 */
export function readBody(req: IncomingMessage, limit = MAX_ADMIN_BODY_BYTES): Promise<Buffer | undefined> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const size = Number(declared);
    if (size > limit) return Promise.reject(new BodyTooLargeError(size, limit));
    if (size === 0) return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        // With no 'data' listener left the stream keeps flowing and drops
        // what is still arriving, so the socket is drained, not buffered.
        req.resume();
        reject(new BodyTooLargeError(size, limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(size === 0 ? undefined : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('request closed before its body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Decode a JSON body; undefined stays undefined (no body).
 *
 * @throws InvalidJsonBodyError with the decoder's message and the raw text.
 * @example
 *   parseJsonBody(Buffer.from('{"uri":"/a"}')) // { uri: '/a' }
 */
export function parseJsonBody(raw: Buffer | undefined): unknown {
  if (raw === undefined) return undefined;
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidJsonBodyError(err instanceof Error ? err.message : String(err), text);
  }
}
