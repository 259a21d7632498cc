/**
 * openwhisk (APISIX `apisix/plugins/openwhisk.lua`; spec/serverless.md §7,
 * spec/serverless-platforms.md §1): answers the request by invoking an
 * Apache OpenWhisk action through the controller's authenticated invoke API
 * and relaying its result.
 *
 * Unlike the generic FaaS plugins it always POSTs to
 * `<api_host>/api/v1/namespaces/<ns>/actions/[<pkg>/]<action>?blocking=true&result=…&timeout=…`
 * with only its own headers and the raw client body; the client's method,
 * path, query and headers are not sent (§7.2) unless `pass_request` asks for
 * them (fngate only, see {@link webActionBody}). Connections go through the
 * shared FaaS client layer (`faas/client.ts`), so `timeout`, `ssl_verify` and
 * the keep-alive attributes mean exactly what they mean for the other FaaS
 * plugins.
 *
 * The result follows the web-action convention (§7.3): `statusCode`,
 * `headers` and `body` fields of the result shape the response; without
 * `body` the client gets OpenWhisk's raw JSON text.
 */
import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders } from 'node:http';
import type { PluginContext } from '../pdk/context.js';
import { definePlugin, type Verdict } from '../pdk/plugin.js';
import { errorMessage } from '../errors.js';
import { VERSION } from '../version.js';
import {
  FunctionCallError,
  FunctionEndpoint,
  describeFailure,
  encodePathTail,
  relayedHeaders,
  type ConnectionOptions,
  type FunctionResponse,
} from './faas/index.js';
import { timeFunctionCall } from './prometheus/function-metrics.js';
import { compiledPerConf } from './lib/per-conf.js';

export const OPENWHISK_PRIORITY = -1901;

/** A configuration after the registry checked it and filled the defaults. */
export interface OpenWhiskConf extends ConnectionOptions {
  readonly api_host: string;
  /** `uuid:key`, sent as HTTP Basic credentials; encrypted at rest. */
  readonly service_token: string;
  readonly namespace: string;
  readonly package?: string;
  readonly action: string;
  /** Ask OpenWhisk for the result only (`true`) or the whole activation record. */
  readonly result: boolean;
  readonly max_req_body_size: number;
  /** fngate: pass method, path, query and headers as web-action `__ow_*` parameters. */
  readonly pass_request: boolean;
}

/**
 * OpenWhisk's entity-name rule (spec §7.1). APISIX writes it in PCRE as
 * `\A([\w]|[\w][\w@ .-]*[\w@.-]+)\z`; a JavaScript `$` without the `m` flag
 * already refuses a trailing newline, so `^…$` is the same rule.
 */
const NAME = { type: 'string', maxLength: 256, pattern: '^([\\w]|[\\w][\\w@ .-]*[\\w@.-]+)$' } as const;

/** What one configuration object resolves to, once (STYLE.md: compile at load). */
interface CompiledConf {
  readonly endpoint: FunctionEndpoint | undefined;
  /** Why `api_host` cannot be called: APISIX accepts any string and fails each request. */
  readonly hostError: string | undefined;
  /** Request-target of the invoke call, query included. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly maxBodySize: number;
  readonly passRequest: boolean;
}

const FAILURE = 'failed to process openwhisk action, err: ';
const USER_AGENT = `fngate/${VERSION}`;

function build(conf: OpenWhiskConf): CompiledConf {
  const base = { maxBodySize: conf.max_req_body_size, passRequest: conf.pass_request };
  const api = parseApiHost(conf.api_host);
  if (typeof api === 'string') {
    return { ...base, endpoint: undefined, hostError: api, target: '', headers: {} };
  }
  // Names may hold spaces (the pattern allows them): APISIX sends them raw,
  // an invalid request-target; fngate percent-encodes each segment.
  const pkg = conf.package === undefined ? '' : `${encodePathTail(conf.package)}/`;
  const path = `${api.pathname.replace(/\/+$/, '')}/api/v1/namespaces/${encodePathTail(conf.namespace)}/actions/${pkg}${encodePathTail(conf.action)}`;
  return {
    ...base,
    endpoint: new FunctionEndpoint(api.origin, conf),
    hostError: undefined,
    target: `${path}?blocking=true&result=${String(conf.result)}&timeout=${conf.timeout}`,
    headers: Object.freeze({
      // URL.host carries the port only when it is not the scheme's default, as lua-resty-http's Host.
      host: api.host,
      authorization: `Basic ${Buffer.from(conf.service_token, 'utf8').toString('base64')}`,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    }),
  };
}

const compile = compiledPerConf(build);

function parseApiHost(apiHost: string): URL | string {
  let url: URL;
  try {
    url = new URL(apiHost);
  } catch {
    return `bad uri: ${apiHost}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported scheme in uri: ${apiHost}`;
  return url;
}

async function invoke(c: CompiledConf, ctx: PluginContext): Promise<Verdict> {
  let body: Buffer | undefined;
  try {
    body = await ctx.request.body({ maxBytes: c.maxBodySize });
  } catch (err) {
    // APISIX answers 413 for any body it cannot get (too large or unreadable), §7.3 item 8.
    ctx.log.error(`failed to read request body: ${errorMessage(err)}`);
    return 413;
  }
  if (c.passRequest) body = webActionBody(ctx, body);
  let response: FunctionResponse;
  try {
    // Counted in prometheus' serverless_function_duration_seconds (a no-op without the plugin).
    response = await timeFunctionCall('openwhisk', ctx.route_id, () => (c.endpoint as FunctionEndpoint).send({ method: 'POST', path: c.target, headers: c.headers, body }));
  } catch (err) {
    ctx.log.error(FAILURE + (err instanceof FunctionCallError ? err.reason : describeFailure(err)));
    return 503;
  }
  return resultVerdict(response, ctx);
}

/** Media types whose bodies web actions receive as text rather than base64. */
const TEXTUAL = /^(?:text\/|application\/(?:json|xml|javascript|x-www-form-urlencoded)\b|[^;]*\+(?:json|xml)\b)/i;

/**
 * fngate's `pass_request`: the invoke body as a web action's parameters
 * (spec/serverless-platforms.md §1.5) — the client's JSON object (or `{}`),
 * plus `__ow_method` (lower case), `__ow_path` (the request path),
 * `__ow_query` (the raw query string) and `__ow_headers` (lower-case names,
 * as plugins left them). A body that is not a JSON object arrives as
 * `__ow_body`: text for textual content types, base64 otherwise. The
 * gateway's `__ow_*` values replace any the client sent.
 */
export function webActionBody(ctx: PluginContext, body: Buffer | undefined): Buffer {
  let params: Record<string, unknown> = {};
  let raw: string | undefined;
  if (body !== undefined) {
    const parsed = parseObject(body);
    if (parsed !== undefined) params = parsed;
    else raw = TEXTUAL.test(ctx.request.header('content-type') ?? '') ? body.toString('utf8') : body.toString('base64');
  }
  params.__ow_method = ctx.request.method.toLowerCase();
  params.__ow_path = String(ctx.var.uri ?? '');
  params.__ow_query = typeof ctx.var.args === 'string' ? ctx.var.args : '';
  params.__ow_headers = ctx.request.headers();
  if (raw === undefined) delete params.__ow_body;
  else params.__ow_body = raw;
  return Buffer.from(JSON.stringify(params), 'utf8');
}

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenWhisk's answer as the client's response (spec §7.3): not JSON → 503;
 * a JSON object's `headers`, `statusCode` and `body` shape the response;
 * otherwise OpenWhisk's status and raw text. OpenWhisk's own headers are
 * not relayed.
 */
export function resultVerdict(response: FunctionResponse, ctx: PluginContext): Verdict {
  // Bodiless by definition (RFC 9110 §15.3.5, §15.4.5): relay the status alone.
  if (response.status === 204 || response.status === 304) return response.status;
  let result: unknown;
  try {
    result = JSON.parse(response.body.toString('utf8'));
  } catch (err) {
    ctx.log.error(`failed to parse openwhisk response data: ${errorMessage(err)}`);
    return 503;
  }
  if (!isObject(result)) return [response.status, response.body];

  let status = response.status;
  if (result.statusCode !== undefined && result.statusCode !== null) {
    const code = statusOf(result.statusCode);
    if (code === undefined) {
      // APISIX fails on such a value with a Lua error, i.e. 500.
      ctx.log.error(`openwhisk action returned an invalid statusCode: ${JSON.stringify(result.statusCode)}`);
      return 500;
    }
    status = code;
  }
  const headers = isObject(result.headers) ? resultHeaders(result.headers, ctx) : undefined;
  return [status, bodyOf(result.body, response.body), headers];
}

/** A status code as a number or numeric string (nginx coerces both), 100..599. */
function statusOf(value: unknown): number | undefined {
  const code = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599 ? code : undefined;
}

/**
 * The result's `body`: a string as is; an object or array as JSON plus a
 * newline (the runner's verdict encoding, as APISIX's `core.response.exit`);
 * a number or `true` as its text; absent, `null` or `false` (falsy in Lua
 * too) leave OpenWhisk's raw text.
 */
function bodyOf(value: unknown, raw: Buffer): unknown {
  if (value === undefined || value === null || value === false) return raw;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value;
}

/**
 * The result's `headers` (web-action style: string, number or boolean
 * values, or arrays of them for repeated fields), minus fields the gateway
 * frames itself. Names or values HTTP cannot carry are skipped with a warning.
 */
function resultHeaders(fields: Record<string, unknown>, ctx: PluginContext): Record<string, string | readonly string[]> {
  const collected: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(fields)) {
    const text = headerValue(value);
    if (text === undefined) {
      ctx.log.warn(`openwhisk action returned header ${JSON.stringify(name)} with a value that is not a string, number or boolean; skipped`);
      continue;
    }
    try {
      validateHeaderName(name);
      for (const one of typeof text === 'string' ? [text] : text) validateHeaderValue(name, one);
    } catch (err) {
      ctx.log.warn(`openwhisk action returned an invalid header; skipped: ${errorMessage(err)}`);
      continue;
    }
    collected[name.toLowerCase()] = text;
  }
  return relayedHeaders(collected);
}

function headerValue(value: unknown): string | string[] | undefined {
  if (!Array.isArray(value)) return scalarText(value);
  const values: string[] = [];
  for (const one of value) {
    const text = scalarText(one);
    if (text === undefined) return undefined;
    values.push(text);
  }
  return values;
}

function scalarText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/**
 * @example
 *   // route: { "uri": "/hello", "plugins": { "openwhisk": {
 *   //   "api_host": "http://127.0.0.1:3233", "service_token": "<uuid>:<key>",
 *   //   "namespace": "guest", "action": "hello" } } }
 */
export default definePlugin<OpenWhiskConf>({
  name: 'openwhisk',
  version: '0.1',
  priority: OPENWHISK_PRIORITY,
  schema: {
    type: 'object',
    properties: {
      api_host: { type: 'string' },
      ssl_verify: { type: 'boolean', default: true },
      service_token: { type: 'string' },
      namespace: NAME,
      package: NAME,
      action: NAME,
      result: { type: 'boolean', default: true },
      timeout: { type: 'integer', minimum: 1, maximum: 60000, default: 3000, description: 'timeout in milliseconds' },
      keepalive: { type: 'boolean', default: true },
      keepalive_timeout: { type: 'integer', minimum: 1000, default: 60000 },
      keepalive_pool: { type: 'integer', minimum: 1, default: 5 },
      max_req_body_size: { type: 'integer', minimum: 1, default: 64 * 1024 * 1024 },
      pass_request: { type: 'boolean', default: false, description: 'fngate: pass method, path, query and headers as __ow_* parameters' },
    },
    required: ['api_host', 'service_token', 'namespace', 'action'],
  },
  encryptFields: ['service_token'],

  access(conf, ctx) {
    const c = compile(conf);
    if (c.hostError !== undefined) {
      ctx.log.error(FAILURE + c.hostError);
      return 503;
    }
    return invoke(c, ctx);
  },
});
