/**
 * proxy-rewrite (priority 1008, rewrite): change what is sent upstream —
 * the request-target (`uri`, `regex_uri`), the Host (`host`), the method
 * and request headers — without touching what the router matched.
 *
 * The upstream target follows APISIX 3.18 (`apisix/plugins/proxy-rewrite.lua`):
 * - the new path is `uri` (with `$var` interpolation; a `?` inside a
 *   variable's value is escaped so it cannot start a query), else the first
 *   `regex_uri` pair whose pattern matches `$uri`, else `$uri` itself;
 *   `use_real_request_uri_unsafe` starts from the raw request-target instead
 *   and sends the result without any encoding;
 * - the path is percent-encoded as nginx's `ngx_escape_uri` does (space,
 *   `#`, `%`, `?`, controls, non-ASCII), except that a literal `?` written in
 *   `uri` (or produced by `regex_uri` from a URI without `?`) starts the query;
 * - the client's query string is appended (`&` when the new URI already has
 *   a query, `?` otherwise).
 *
 * Header actions run in APISIX's order: `add`, then `set`, then `remove`
 * (the legacy flat object means `set`). Values may use `$var` and the
 * `regex_uri` captures `$1`, `${2}`.
 */
import type { PluginContext } from '../pdk/context.js';
import { definePlugin } from '../pdk/plugin.js';
import { errorMessage } from '../errors.js';
import { luaNumber } from '../resources/lua-text.js';
import { compileNgxRegex, compileReplacement, expandReplacement, type Replacement } from './lib/ngx-re.js';
import { compileVarTemplate, type VarTemplate } from './lib/var-template.js';
import { isValidHeaderName, isValidHeaderValue, toHeaderValue } from './lib/header-text.js';
import { compiledPerConf } from './lib/per-conf.js';

type HeaderMap = Readonly<Record<string, string | number>>;

export interface ProxyRewriteConf {
  readonly uri?: string;
  readonly method?: string;
  /** Flat `[pattern, replacement, pattern, replacement, ...]`. */
  readonly regex_uri?: readonly string[];
  readonly host?: string;
  /** `{add, set, remove}`, or (legacy) a flat object of headers to set. */
  readonly headers?: HeaderMap | { readonly add?: HeaderMap; readonly set?: HeaderMap; readonly remove?: readonly string[] };
  readonly use_real_request_uri_unsafe?: boolean;
}

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE'];

const headerValueSchema = { oneOf: [{ type: 'string' }, { type: 'number' }] };
const headerObjectSchema = { type: 'object', minProperties: 1, patternProperties: { '^[^:]+$': headerValueSchema } };

const schema = {
  type: 'object',
  properties: {
    uri: { description: 'new uri for upstream', type: 'string', minLength: 1, maxLength: 4096, pattern: '^\\/.*' },
    method: { description: 'proxy route method', type: 'string', enum: METHODS },
    regex_uri: {
      description: 'new uri that substitute from client uri for upstream, lower priority than uri property',
      type: 'array',
      minItems: 2,
      items: { description: 'regex uri', type: 'string' },
    },
    host: { description: 'new host for upstream', type: 'string', pattern: '^[0-9a-zA-Z-.]+(:\\d{1,5})?$' },
    headers: {
      description: 'new headers for request',
      oneOf: [
        {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: {
            add: headerObjectSchema,
            set: headerObjectSchema,
            remove: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^:]+$' } },
          },
        },
        headerObjectSchema,
      ],
    },
    use_real_request_uri_unsafe: { description: 'use real_request_uri instead, THIS IS VERY UNSAFE.', type: 'boolean', default: false },
  },
  minProperties: 1,
};

interface HeaderAction {
  /** Lower-case name. */
  readonly name: string;
  readonly value: VarTemplate;
}

/** A configuration compiled once (per immutable conf object). */
interface Compiled {
  readonly uri: VarTemplate | undefined;
  readonly regexUri: ReadonlyArray<{ readonly regex: RegExp; readonly replacement: Replacement }> | undefined;
  readonly add: readonly HeaderAction[];
  readonly set: readonly HeaderAction[];
  readonly remove: readonly string[];
}

/** `headers` uses the action form when any of add/set/remove holds an object or array (APISIX's test). */
function isActionForm(headers: NonNullable<ProxyRewriteConf['headers']>): headers is { add?: HeaderMap; set?: HeaderMap; remove?: readonly string[] } {
  const h = headers as Record<string, unknown>;
  return [h.add, h.set, h.remove].some((v) => typeof v === 'object' && v !== null);
}

function headerText(value: string | number): string {
  return typeof value === 'number' ? luaNumber(value) : value;
}

function actions(map: HeaderMap | undefined): HeaderAction[] {
  return Object.entries(map ?? {}).map(([name, value]) => ({
    name: name.toLowerCase(),
    value: compileVarTemplate(headerText(value), { captures: true }),
  }));
}

function compile(conf: ProxyRewriteConf): Compiled {
  let regexUri: Compiled['regexUri'];
  if (conf.regex_uri !== undefined) {
    const pairs: Array<{ regex: RegExp; replacement: Replacement }> = [];
    for (let i = 0; i + 1 < conf.regex_uri.length; i += 2) {
      pairs.push({ regex: compileNgxRegex(conf.regex_uri[i] as string, 'jo', false), replacement: compileReplacement(conf.regex_uri[i + 1] as string) });
    }
    regexUri = pairs;
  }
  const headers = conf.headers;
  const action = headers !== undefined && isActionForm(headers);
  return {
    uri: conf.uri === undefined ? undefined : compileVarTemplate(conf.uri),
    regexUri,
    add: action ? actions(headers.add) : [],
    set: headers === undefined ? [] : actions(action ? headers.set : (headers as HeaderMap)),
    remove: action ? (headers.remove ?? []).map((name) => name.toLowerCase()) : [],
  };
}

const compiled = compiledPerConf(compile);

/** Problems with header names/values, in APISIX's wording; undefined when all can be sent. */
function checkHeaders(map: HeaderMap | undefined): string | undefined {
  for (const [name, value] of Object.entries(map ?? {})) {
    if (typeof value !== 'string' && typeof value !== 'number') return 'invalid type as header value';
    if (name.length === 0) return 'invalid field length in header';
    if (!isValidHeaderName(name)) return 'invalid field character in header';
    if (!isValidHeaderValue(value)) return 'invalid value character in header';
  }
  return undefined;
}

// nginx's NGX_ESCAPE_URI table: space, `#`, `%`, `?`, controls, DEL and every byte >= 0x80.
function needsEscape(code: number): boolean {
  return code <= 0x20 || code === 0x23 || code === 0x25 || code === 0x3f || code >= 0x7f;
}

const HEX = '0123456789ABCDEF';

/**
 * `core.utils.uri_safe_encode`: percent-encode what may not appear raw in a
 * path. `$uri` is decoded, so this restores a sendable request-target.
 *
 * @example
 *   uriSafeEncode('/a b/ü'); // '/a%20b/%C3%BC'
 */
export function uriSafeEncode(uri: string): string {
  let i = 0;
  while (i < uri.length && !needsEscape(uri.charCodeAt(i))) i++;
  if (i === uri.length) return uri;
  let out = uri.slice(0, i);
  for (const byte of Buffer.from(uri.slice(i), 'utf8')) {
    out += needsEscape(byte) ? `%${HEX[byte >> 4]}${HEX[byte & 15]}` : String.fromCharCode(byte);
  }
  return out;
}

/** A variable's `?` must not start a query in the rewritten URI. */
function escapeSeparator(value: string): string {
  return value.includes('?') ? value.replaceAll('?', '%3F') : value;
}

/** Set `upstream_uri`; returns the `regex_uri` match, whose groups header values may use. */
function rewriteTarget(conf: ProxyRewriteConf, c: Compiled, ctx: PluginContext): RegExpExecArray | undefined {
  const vars = ctx.var;
  const unsafe = conf.use_real_request_uri_unsafe === true;
  let target = String(unsafe ? vars.real_request_uri : vars.uri);
  // A literal `?` of the configuration starts the query; one that came from the client does not.
  let separatorIsLiteral = false;
  let captures: RegExpExecArray | undefined;

  if (c.uri !== undefined) {
    separatorIsLiteral = true;
    target = c.uri.render(vars, escapeSeparator);
  } else if (c.regexUri !== undefined) {
    separatorIsLiteral = !target.includes('?');
    for (const { regex, replacement } of c.regexUri) {
      const m = regex.exec(target);
      if (m === null) continue;
      captures = m;
      target = target.slice(0, m.index) + expandReplacement(replacement, m) + target.slice(m.index + m[0].length);
      break;
    }
  }

  if (unsafe) {
    vars.upstream_uri = target;
    return captures;
  }
  const query = separatorIsLiteral ? target.indexOf('?') : -1;
  target = query >= 0 ? uriSafeEncode(target.slice(0, query)) + target.slice(query) : uriSafeEncode(target);
  if (vars.is_args === '?') {
    const args = vars.args;
    target += `${query >= 0 ? '&' : '?'}${args === undefined || args === null ? '' : String(args)}`;
  }
  vars.upstream_uri = target;
  return captures;
}

function applyHeaders(c: Compiled, ctx: PluginContext, captures: RegExpExecArray | undefined): void {
  const request = ctx.request;
  const vars = ctx.var;
  for (const { name, value } of c.add) {
    const text = value.dynamic ? toHeaderValue(value.render(vars, undefined, captures)) : value.source;
    const existing = request.header(name);
    request.setHeader(name, existing === undefined ? text : [existing, text]);
  }
  for (const { name, value } of c.set) {
    const text = value.dynamic ? toHeaderValue(value.render(vars, undefined, captures)) : value.source;
    // nginx drops a request header set to the empty string.
    request.setHeader(name, text === '' ? null : text);
  }
  for (const name of c.remove) request.setHeader(name, null);
}

/**
 * @example
 *   // route plugins: { "proxy-rewrite": { "regex_uri": ["^/api/(.*)", "/$1"], "headers": { "set": { "X-Path": "$1" } } } }
 */
export default definePlugin<ProxyRewriteConf>({
  name: 'proxy-rewrite',
  version: '0.1',
  priority: 1008,
  schema,

  check(conf) {
    const regexUri = conf.regex_uri;
    if (regexUri !== undefined && regexUri.length > 0) {
      if (regexUri.length % 2 !== 0) return 'The length of regex_uri should be an even number';
      for (let i = 0; i < regexUri.length; i += 2) {
        const [pattern, template] = [regexUri[i] as string, regexUri[i + 1] as string];
        try {
          compileNgxRegex(pattern, 'jo', false);
          compileReplacement(template);
        } catch (err) {
          return `invalid regex_uri(${pattern}, ${template}): ${errorMessage(err)}`;
        }
      }
    }
    const headers = conf.headers;
    if (headers === undefined) return undefined;
    if (!isActionForm(headers)) return checkHeaders(headers as HeaderMap);
    // The action form is only shaped by the schema in APISIX; names and values are checked here too so
    // that nothing unsendable reaches a request.
    const error = checkHeaders(headers.add) ?? checkHeaders(headers.set);
    if (error !== undefined) return error;
    for (const name of headers.remove ?? []) if (!isValidHeaderName(name)) return 'invalid field character in header';
    return undefined;
  },

  rewrite(conf, ctx) {
    const c = compiled(conf);
    if (conf.host !== undefined) ctx.var.upstream_host = conf.host;
    const captures = rewriteTarget(conf, c, ctx);
    if (captures !== undefined) ctx.proxy_rewrite_regex_uri_captures = captures;
    if (c.add.length > 0 || c.set.length > 0 || c.remove.length > 0) applyHeaders(c, ctx, captures);
    if (conf.method !== undefined) ctx.request.setMethod(conf.method);
  },
});
