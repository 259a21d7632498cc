/**
 * fake-azure-functions (spec/serverless-platforms.md §3.4): an Azure
 * Functions host's HTTP trigger surface — route prefix and templates
 * (case-insensitive, duplicate slashes ignored), auth levels with function,
 * host and master keys read from `x-functions-key` or `?code=` (§3.2), the
 * host's empty-bodied 401/404/500, request recording and fault switches.
 */
import { startHttpDouble, type HttpDouble, type RecordedRequest, type Reply } from './http-double.js';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

/** What a handler sees (spec §3.4). */
export interface AzureRequest {
  readonly method: string;
  /** Decoded path after the route prefix match, e.g. `/api/HttpTrigger`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case names, repeated fields joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Route template parameters. */
  readonly params: Readonly<Record<string, string>>;
}

export interface AzureResult {
  /** Default 200. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Default empty. A string without a Content-Type header is sent as `text/plain; charset=utf-8`. */
  readonly body?: string | Buffer;
}

export interface AzureFunction {
  /** Route template (ASP.NET style: `{id}`, `{id:int}`, `{name:alpha?}`, `{*rest}`); default: the function name. */
  readonly route?: string;
  /** Allowed methods; default all. */
  readonly methods?: readonly string[];
  /** Default `function`. */
  readonly authLevel?: AuthLevel;
  /** Function keys by name. */
  readonly keys?: Readonly<Record<string, string>>;
  readonly disabled?: boolean;
  readonly handler: (request: AzureRequest) => AzureResult | Promise<AzureResult>;
}

export interface AzureDoubleConfig {
  /** `host.json` `extensions.http.routePrefix`; default `api`, `''` allowed. */
  readonly routePrefix?: string;
  /** The `_master` host key. */
  readonly masterKey: string;
  /** Host keys by name, e.g. `{ default: 'hk' }`. */
  readonly hostKeys?: Readonly<Record<string, string>>;
  readonly functions: Readonly<Record<string, AzureFunction>>;
  /** Serve HTTPS with this certificate. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** The host's bare answers: ASP.NET results with no body (spec §3.2). */
const EMPTY = (status: number): Reply => ({ status, headers: [['Content-Length', '0']] });

const UP_PAGE = '<!DOCTYPE html><html><head><title>Azure Functions</title></head>'
  + '<body><h1>Your Functions 4.0 app is up and running</h1></body></html>';

interface CompiledFunction {
  readonly name: string;
  readonly fn: AzureFunction;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly methods: ReadonlySet<string> | undefined;
  readonly keys: ReadonlySet<string>;
}

const CONSTRAINTS: Readonly<Record<string, string>> = { int: '-?\\d+', alpha: '[A-Za-z]+', bool: '(?:true|false)', guid: '[0-9A-Fa-f-]{36}' };

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An ASP.NET-style route template as an anchored, case-insensitive regex over the whole path. */
function compileRoute(prefix: string, template: string): { pattern: RegExp; params: string[] } {
  const params: string[] = [];
  const segments = [prefix, ...template.split('/')].filter((s) => s !== '');
  let source = '';
  for (const segment of segments) {
    const param = /^\{(\*?)([A-Za-z_]\w*)(?::(\w+))?(\?)?\}$/.exec(segment);
    if (param === null) {
      source += `/${escapeRegex(segment)}`;
      continue;
    }
    const [, catchAll, name, constraint, optional] = param;
    params.push(name as string);
    const value = catchAll ? '.*' : (CONSTRAINTS[constraint ?? ''] ?? '[^/]+');
    source += optional || catchAll ? `(?:/(${value}))?` : `/(${value})`;
  }
  return { pattern: new RegExp(`^${source || '/'}/?$`, 'i'), params };
}

function headerRecord(request: RecordedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * @example
 *   const azure = await startAzureFunctionsDouble({
 *     masterKey: 'mk', hostKeys: { default: 'hk' },
 *     functions: { HttpTrigger: { authLevel: 'function', handler: (req) => ({ body: `Hello, ${req.query.get('name')}` }) } },
 *   });
 *   // GET /api/HttpTrigger?name=APISIX with x-functions-key: hk → 200 'Hello, APISIX'
 */
export function startAzureFunctionsDouble(config: AzureDoubleConfig): Promise<HttpDouble> {
  const prefix = config.routePrefix ?? 'api';
  const hostKeys = new Set(Object.values(config.hostKeys ?? {}));
  const functions: CompiledFunction[] = Object.entries(config.functions).map(([name, fn]) => ({
    name,
    fn,
    ...compileRoute(prefix, fn.route ?? name),
    methods: fn.methods === undefined ? undefined : new Set(fn.methods.map((m) => m.toUpperCase())),
    keys: new Set(Object.values(fn.keys ?? {})),
  }));

  return startHttpDouble(async (request) => {
    let path: string;
    try {
      path = decodeURIComponent(request.path).replace(/\/{2,}/g, '/');
    } catch {
      return EMPTY(400);
    }
    if (request.method === 'GET' && path === '/') {
      return { status: 200, headers: [['Content-Type', 'text/html']], body: UP_PAGE };
    }
    let matched: { fn: CompiledFunction; values: RegExpExecArray } | undefined;
    for (const fn of functions) {
      const values = fn.pattern.exec(path);
      // A method outside `methods` fails the route match, so it is a 404 too (§3.1).
      if (values !== null && (fn.methods === undefined || fn.methods.has(request.method))) {
        matched = { fn, values };
        break;
      }
    }
    if (matched === undefined) return EMPTY(404);
    const { fn, values } = matched;

    const query = new URLSearchParams(request.query);
    // The header wins even when empty; then `code` is never read (§3.2).
    const headerKey = request.headers['x-functions-key'];
    const key = headerKey !== undefined ? String(headerKey) : (query.get('code') ?? '');
    const isMaster = key !== '' && key === config.masterKey;
    const isHost = key !== '' && hostKeys.has(key);
    const isFunction = key !== '' && fn.keys.has(key);

    if (fn.fn.disabled === true && !isMaster) return EMPTY(404);
    const level = fn.fn.authLevel ?? 'function';
    const allowed = level === 'anonymous' || (level === 'admin' ? isMaster : isMaster || isHost || isFunction);
    if (!allowed) return EMPTY(401);

    const params: Record<string, string> = {};
    fn.params.forEach((name, i) => {
      const value = values[i + 1];
      if (value !== undefined) params[name] = value;
    });
    let result: AzureResult;
    try {
      result = await fn.fn.handler({ method: request.method, path, query, headers: headerRecord(request), body: request.body, params });
    } catch {
      return EMPTY(500);
    }
    const headers: Array<[string, string]> = Object.entries(result.headers ?? {});
    const body = result.body ?? '';
    if (typeof body === 'string' && body !== '' && !headers.some(([name]) => name.toLowerCase() === 'content-type')) {
      headers.unshift(['Content-Type', 'text/plain; charset=utf-8']);
    }
    return { status: result.status ?? 200, headers, body };
  }, { faultReply: EMPTY, ...(config.tls ? { tls: config.tls } : {}) });
}
