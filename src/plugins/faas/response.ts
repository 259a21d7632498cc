/**
 * A function's answer as the client gets it (spec/serverless.md §3.3):
 * status, headers and body verbatim, returned as a verdict so that
 * `_meta.error_response` applies to answers ≥400 and the response phases of
 * every plugin still run.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Verdict } from '../../pdk/plugin.js';
import type { FunctionResponse } from './client.js';

/**
 * Response fields the gateway does not relay: hop-by-hop ones (RFC 9110
 * §7.6.1; nginx drops them on HTTP/2 only, fngate on every response since it
 * frames the body itself), `Content-Length` (recomputed from the body) and
 * `Server` (the gateway's own applies, as in APISIX).
 */
const NOT_RELAYED: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'content-length', 'server',
]);

type VerdictHeaders = Record<string, string | readonly string[]>;

/**
 * The verdict relaying `response`: `[status, body, headers]`. The body is a
 * Buffer even when empty, so an empty 401 stays empty instead of becoming
 * nginx's error page (APISIX prints the function's empty body the same way).
 *
 * @example
 *   return toVerdict(await endpoint.send(request)); // [200, <Buffer ...>, { 'content-type': 'text/plain' }]
 */
export function toVerdict(response: FunctionResponse): Verdict {
  return [response.status, response.body, relayedHeaders(response.headers)];
}

/** The function's headers minus those the gateway does not relay (and those its Connection field names). */
export function relayedHeaders(headers: IncomingHttpHeaders): VerdictHeaders {
  const out: VerdictHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined && !NOT_RELAYED.has(name)) out[name] = value;
  }
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const part of (Array.isArray(connection) ? connection.join(',') : connection).split(',')) {
      const token = part.trim().toLowerCase();
      if (token !== '' && token !== 'close' && token !== 'keep-alive') delete out[token];
    }
  }
  return out;
}
