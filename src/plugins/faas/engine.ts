/**
 * The generic-upstream engine of the FaaS plugins (APISIX
 * `serverless/generic-upstream.lua`; spec/serverless.md §3): a plugin that
 * always answers in `access` by calling its function and relaying the
 * answer. A platform plugin only adds its `authorization` schema and the
 * step that puts its credentials on the outgoing request.
 */
import type { PluginContext } from '../../pdk/context.js';
import { definePlugin, type ConfKind, type JsonSchema, type PluginDefinition, type Verdict } from '../../pdk/plugin.js';
import { errorMessage } from '../../errors.js';
import { FunctionCallError, FunctionEndpoint, describeFailure } from './client.js';
import { buildOutgoingRequest, type OutgoingRequest } from './request.js';
import { toVerdict } from './response.js';
import { faasSchema, type FaasConf } from './schema.js';
import { timeFunctionCall } from '../prometheus/function-metrics.js';
import { compiledPerConf } from '../lib/per-conf.js';

/**
 * Puts a platform's credentials on the outgoing request (headers; a signer
 * may also replace `query`/`path`). Made once per configuration object by
 * {@link FaasPluginSpec.authorizer}, so per-configuration work (decoding,
 * key derivation) happens once.
 */
export type Authorizer = (request: OutgoingRequest, ctx: PluginContext) => void | Promise<void>;

export interface FaasPluginSpec<Conf extends FaasConf = FaasConf> {
  readonly name: string;
  readonly version?: string;
  readonly priority: number;
  /** JSON Schema of the plugin's `authorization` attribute. */
  readonly authorizationSchema: JsonSchema;
  /** Dotted paths of secrets, e.g. `['authorization.apikey']`. */
  readonly encryptFields?: readonly string[];
  readonly metadataSchema?: JsonSchema;
  readonly metadataEncryptFields?: readonly string[];
  /** Extra semantic checks after the schema (defaults filled); return an error text. */
  check?(conf: Conf, kind: ConfKind): string | undefined;
  /** The auth step for one configuration; omit when the platform needs none. */
  authorizer?(conf: Conf): Authorizer | undefined;
}

/** What one configuration object resolves to, once. */
interface CompiledConf {
  readonly endpoint: FunctionEndpoint | undefined;
  /** Why function_uri cannot be called (APISIX accepts any string there and fails per request). */
  readonly uriError: string | undefined;
  readonly basePath: string;
  /** function_uri's host name without port: the Host header sent (spec §3.2). */
  readonly host: string;
  readonly maxBodySize: number;
  readonly authorize: Authorizer | undefined;
}

/**
 * Define a FaaS plugin: schema = common attributes + `authorization`, and an
 * `access` phase that builds the request (§3.2), lets `authorizer` add the
 * platform's auth, calls the function and returns its answer as a verdict
 * (§3.3). Client body too large or unreadable → 400; call failed → 503 and
 * the log line `failed to process <name>, err: <reason>` (§3.4).
 *
 * @example
 *   export default defineFaasPlugin({
 *     name: 'openfunction', priority: -1902,
 *     authorizationSchema: { type: 'object', properties: { service_token: { type: 'string' } } },
 *     encryptFields: ['authorization.service_token'],
 *     authorizer(conf) {
 *       const token = (conf.authorization as { service_token?: string } | undefined)?.service_token;
 *       if (token === undefined) return undefined;
 *       const value = `Basic ${Buffer.from(token).toString('base64')}`;
 *       return (request) => { request.headers.authorization = value; };
 *     },
 *   });
 */
export function defineFaasPlugin<Conf extends FaasConf = FaasConf>(spec: FaasPluginSpec<Conf>): PluginDefinition<Conf> {
  const failurePrefix = `failed to process ${spec.name}, err: `;

  function build(conf: Conf): CompiledConf {
    const authorize = spec.authorizer?.(conf);
    const base = { maxBodySize: conf.max_req_body_size, authorize };
    const url = parseFunctionUri(conf.function_uri);
    return typeof url === 'string'
      ? { ...base, endpoint: undefined, uriError: url, basePath: '/', host: '' }
      : { ...base, endpoint: new FunctionEndpoint(url.origin, conf), uriError: undefined, basePath: url.pathname || '/', host: url.hostname };
  }

  const compile = compiledPerConf(build);

  async function call(c: CompiledConf, ctx: PluginContext): Promise<Verdict> {
    let body: Buffer | undefined;
    try {
      body = await ctx.request.body({ maxBytes: c.maxBodySize });
    } catch (err) {
      ctx.log.error(`failed to read request body: ${errorMessage(err)}`);
      return 400;
    }
    // An earlier plugin may have read (or replaced) the body without this limit.
    if (body !== undefined && body.length > c.maxBodySize) {
      ctx.log.error(`failed to read request body: request body is larger than ${c.maxBodySize} bytes`);
      return 400;
    }
    const request = buildOutgoingRequest(ctx, c.basePath, c.host, body);
    if (c.authorize !== undefined) await c.authorize(request, ctx);
    try {
      // Counted in prometheus' serverless_function_duration_seconds (a no-op without the plugin).
      const response = await timeFunctionCall(spec.name, ctx.route_id, () => (c.endpoint as FunctionEndpoint).send({
        method: request.method,
        path: request.query === '' ? request.path : `${request.path}?${request.query}`,
        headers: request.headers,
        body: request.body,
      }));
      // HTTP/1.1 allows any three digits; a verdict only 100-599 (RFC 9110 §15).
      if (response.status > 599) {
        ctx.log.error(`${failurePrefix}invalid response status ${response.status}`);
        return 503;
      }
      return toVerdict(response);
    } catch (err) {
      ctx.log.error(failurePrefix + (err instanceof FunctionCallError ? err.reason : describeFailure(err)));
      return 503;
    }
  }

  const definition: PluginDefinition<Conf> = {
    name: spec.name,
    version: spec.version ?? '0.1',
    priority: spec.priority,
    schema: faasSchema(spec.authorizationSchema),
    ...(spec.metadataSchema === undefined ? {} : { metadataSchema: spec.metadataSchema }),
    ...(spec.encryptFields === undefined ? {} : { encryptFields: spec.encryptFields }),
    ...(spec.metadataEncryptFields === undefined ? {} : { metadataEncryptFields: spec.metadataEncryptFields }),
    ...(spec.check === undefined ? {} : { check: spec.check.bind(spec) }),
    access(conf, ctx) {
      const c = compile(conf);
      if (c.uriError !== undefined) {
        ctx.log.error(failurePrefix + c.uriError);
        return 503;
      }
      return call(c, ctx);
    },
  };
  return definePlugin(definition);
}

/** function_uri as a URL, or the reason it cannot be called. */
function parseFunctionUri(uri: string): URL | string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `bad uri: ${uri}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported scheme in uri: ${uri}`;
  return url;
}
