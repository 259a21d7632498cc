/**
 * The request a FaaS plugin sends to its function (spec/serverless.md §3.2):
 * the client's method, headers, query arguments and body, aimed at
 * `function_uri` plus the tail a bare `*` route matched.
 */
import type { PluginContext } from '../../pdk/context.js';
import { parseQuery, type ArgValue } from '../../http/args.js';
import { forwardedPort } from '../../upstream/headers.js';

/**
 * The outgoing request while plugins shape it. The engine builds it; a
 * plugin's authorizer then adds its headers (and may replace `query` or
 * `path`, e.g. with a signed canonical form) before it is sent.
 */
export interface OutgoingRequest {
  readonly method: string;
  /** Absolute path, percent-encoded: function_uri's path + the forwarded tail. */
  path: string;
  /** Query string without `?` (`''`: none): the client's arguments, re-encoded. */
  query: string;
  /** The client's query arguments, decoded, in order (a bare `?flag` is `true`). */
  readonly args: ReadonlyMap<string, readonly ArgValue[]>;
  /**
   * Header fields to send, lower-case names, multi-values joined with `, `:
   * the client's end-to-end headers, `host` = the function's host without
   * port, and X-Forwarded-Proto/-Host/-Port as the gateway observed them.
   */
  readonly headers: Record<string, string>;
  /** The client body, undefined when there is none. */
  readonly body: Buffer | undefined;
}

/**
 * Fields never forwarded: hop-by-hop ones (RFC 9110 §7.6.1), the body
 * framing (re-computed from the buffered body, spec §3.2), `Host`
 * (replaced) and `Expect` (the gateway already dealt with the client's
 * expectation; RFC 9110 §10.1.1).
 */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'content-length', 'expect', 'host',
]);

const NO_ARGS: ReadonlyMap<string, readonly ArgValue[]> = new Map();

/**
 * Build the request for `ctx`'s client request.
 *
 * @param basePath function_uri's path (`/` when it has none), percent-encoded.
 * @param host function_uri's host name, without port (spec §3.2: reproduced as APISIX sends it).
 *
 * @example
 *   const request = buildOutgoingRequest(ctx, '/api', 'localhost', body);
 *   // route /azure/*, GET /azure/http/trigger?a=1 → request.path '/api/http/trigger', request.query 'a=1'
 */
export function buildOutgoingRequest(ctx: PluginContext, basePath: string, host: string, body: Buffer | undefined): OutgoingRequest {
  const rawQuery = ctx.var.args;
  const args = typeof rawQuery === 'string' && rawQuery !== '' ? parseQuery(rawQuery) : NO_ARGS;
  return {
    method: ctx.request.method,
    path: functionPath(basePath, ctx.curr_req_matched?.[':ext']),
    query: args.size === 0 ? '' : encodeArgs(args),
    args,
    headers: forwardedHeaders(ctx, host),
    body,
  };
}

/**
 * `base` plus the tail of a bare `*` route (spec §3.2 step 5): concatenated
 * when either side brings the `/`, joined with one otherwise. The tail is
 * the normalised (decoded) path, so it is percent-encoded again here.
 *
 * @example
 *   functionPath('/api', 'http/trigger') // '/api/http/trigger'
 *   functionPath('/api', '')             // '/api/'
 *   functionPath('/', 'openfunction')    // '/openfunction'
 *   functionPath('/api', undefined)      // '/api'
 */
export function functionPath(base: string, ext: string | undefined): string {
  if (ext === undefined) return base;
  const tail = encodePathTail(ext);
  return base.endsWith('/') || tail.startsWith('/') ? base + tail : `${base}/${tail}`;
}

/** Characters allowed as is in a path: RFC 3986 pchar and `/`. */
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/**
 * Percent-encode a decoded path so it is a valid request-target: bytes
 * outside pchar (spaces, `%`, `?`, `#`, non-ASCII, ...) become `%XX`.
 * APISIX sends the decoded bytes raw, which breaks on such characters.
 *
 * @example encodePathTail('a b/ü') // 'a%20b/%C3%BC'
 */
export function encodePathTail(path: string): string {
  if (PATH_SAFE.test(path)) return path;
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && PATH_SAFE.test(c) ? c : `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

/** RFC 3986 unreserved characters: the only ones left unescaped in query components. */
const UNRESERVED = /[^A-Za-z0-9\-._~]/g;

/** Percent-encode a query component the way ngx.encode_args does (RFC 3986 unreserved kept). */
export function encodeQueryComponent(text: string): string {
  return encodeURIComponent(text).replace(UNRESERVED, (c) => (c === '%' ? c : `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
}

/**
 * Re-encode decoded arguments: `name=value` pairs joined with `&`, a
 * repeated name once per value, a valueless argument as the bare name.
 *
 * @example encodeArgs(parseQuery('b=a%2Fc&flag&b=x y')) // 'b=a%2Fc&b=x%20y&flag'
 */
export function encodeArgs(args: ReadonlyMap<string, readonly ArgValue[]>): string {
  let out = '';
  for (const [name, values] of args) {
    const encodedName = encodeQueryComponent(name);
    for (const value of values) {
      if (out !== '') out += '&';
      out += value === true ? encodedName : `${encodedName}=${encodeQueryComponent(value)}`;
    }
  }
  return out;
}

/** The client's end-to-end headers with the function's Host and the gateway's X-Forwarded-* set. */
function forwardedHeaders(ctx: PluginContext, host: string): Record<string, string> {
  const headers = ctx.request.headers();
  const connection = headers.connection;
  for (const name of Object.keys(headers)) {
    // `:authority` & co. of HTTP/2 clients are not header fields.
    if (NOT_FORWARDED.has(name) || name.charCodeAt(0) === 0x3a) delete headers[name];
  }
  // Fields the client declared connection-specific (RFC 9110 §7.6.1).
  if (connection !== undefined) {
    for (const part of connection.split(',')) {
      const token = part.trim().toLowerCase();
      if (!isPlainOption(token)) delete headers[token];
    }
  }
  headers.host = host;
  // spec §3.2: APISIX sets these on the client request before plugins run,
  // so functions see them as forwarded client headers.
  const clientHost = ctx.var.http_host;
  const hostText = typeof clientHost === 'string' ? clientHost : String(ctx.var.host ?? '');
  headers['x-forwarded-proto'] = String(ctx.var.scheme ?? 'http');
  if (hostText !== '') headers['x-forwarded-host'] = hostText;
  headers['x-forwarded-port'] = forwardedPort(hostText, Number(ctx.var.server_port ?? 0));
  return headers;
}

function isPlainOption(token: string): boolean {
  return token === 'keep-alive' || token === 'close' || token === '';
}
