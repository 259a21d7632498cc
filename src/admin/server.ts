/**
 * The Admin API as a `node:http` request listener (spec/admin-api.md).
 *
 * One request, in order:
 *   1. `allow_admin` CIDR check → nginx 403 page (before anything else, as
 *      nginx's `allow/deny` runs before Lua);
 *   2. outside `/apisix/admin` → nginx 404 page;
 *   3. CORS preflight `OPTIONS` → 200 (no token), `HEAD /apisix/admin` → 200 (no token);
 *   4. token check (§2) for everything else;
 *   5. dispatch: `/plugins/list`, `/plugins/reload`, `/schema/validate/*`,
 *      `/configs/validate`, then the generic resource handler (§3), which
 *      reads and parses the body (≤ 1.5 MiB) and checks `?ttl=` first.
 * Handlers return replies or throw errors; errors.ts maps the errors and
 * {@link sendReply} adds the common headers, so both are done in one place.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FngateConfig } from '../config/types.js';
import { plainAddress } from '../http/client-address.js';
import { ERROR_PAGE_CONTENT_TYPE, errorPage } from '../http/error-page.js';
import { parseQuery } from '../http/args.js';
import type { Logger } from '../log.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import { resourceKinds } from '../resources/registry.js';
import type { ResourceKind, ResourceName } from '../resources/types.js';
import { compileIpMatcher } from '../router/ip.js';
import { luaToNumber } from '../util/lua-number.js';
import type { ConfigStore } from '../store/types.js';
import { createAdminAuthenticator } from './auth.js';
import { parseJsonBody, readBody } from './body.js';
import { configsValidateReply, parseConfigDocument } from './configs-validate.js';
import { AdminBadRequestError, AdminNotFoundError, MethodNotSupportedError, errorReply } from './errors.js';
import type { QueryArgs } from './list-query.js';
import { adminTarget, pathSegments } from './path.js';
import { noPluginEndpoints, pluginListReply, pluginSchemaReply, type PluginEndpoints } from './plugin-endpoints.js';
import { EMPTY_OK, type AdminReply } from './reply.js';
import { ResourceHandler, type ResourceMethod } from './resource-handler.js';
import { coreSchemaReply, schemaValidateReply } from './schema-endpoints.js';
import { AdminStoreView } from './store-view.js';
import { createEncryptionTransform, type StoredValueTransform } from './transform.js';
import { unixSeconds } from './write-rules.js';

export { initStoreDirectories } from './init-store.js';

export interface AdminDeps {
  readonly store: ConfigStore;
  readonly config: FngateConfig;
  /** Key prefix of the resources in the store (`/apisix`). */
  readonly prefix: string;
  readonly plugins: PluginCatalog;
  /** The Admin API's logger (already bound to its module by the caller). */
  readonly logger: Logger;
  /** fngate's version, shown in the `Server` header. */
  readonly version: string;
  /** Hot reload behind `PUT /apisix/admin/plugins/reload` (spec/plugins.md §7). */
  readonly onPluginsReload?: () => Promise<void>;
  /** Plugin list and schemas (§9); default: a gateway without plugins. */
  readonly pluginEndpoints?: PluginEndpoints;
  /** Encryption seam for stored values (§7); default: identity. */
  readonly transform?: StoredValueTransform;
  /** Clock for create_time / update_time, in Unix seconds. */
  readonly now?: () => number;
  /** Resource kinds served; default: the registry's. */
  readonly kinds?: ReadonlyMap<ResourceName, ResourceKind>;
}

const RESOURCE_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-credentials': 'true',
  'access-control-expose-headers': '*',
  'access-control-max-age': '3600',
} as const;

const PREFLIGHT_HEADERS = {
  ...CORS_HEADERS,
  'access-control-allow-methods': 'POST, GET, PUT, OPTIONS, DELETE, PATCH',
  'access-control-allow-headers': '*',
  'content-type': 'text/plain',
  'content-length': '0',
} as const;

/** What a dispatched request produced; `v3` marks replies of the resource handler (X-API-VERSION). */
interface Outcome {
  reply: AdminReply;
  v3: boolean;
}

/**
 * Build the Admin API listener. Everything derivable from config (allow
 * list, key digests, headers) is computed here, once.
 *
 * @example
 *   const handler = createAdminHandler({ store, config, plugins, logger, version: '0.1.0' });
 *   http.createServer(handler).listen(config.deployment.admin.admin_listen.port);
 */
export function createAdminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const admin = deps.config.deployment.admin;
  const logger = deps.logger;
  const allowed = admin.allow_admin === null ? undefined : compileIpMatcher(admin.allow_admin);
  const authenticate = createAdminAuthenticator(admin.admin_key);
  const cors = admin.enable_admin_cors;
  const server = deps.config.apisix.enable_server_tokens ? `fngate/${deps.version}` : 'fngate';
  const kinds = deps.kinds ?? resourceKinds;
  const endpoints = deps.pluginEndpoints ?? noPluginEndpoints;
  const transform = deps.transform ?? createEncryptionTransform(deps.config, deps.plugins, logger);
  const view = new AdminStoreView(deps.store, deps.prefix, transform, logger);
  const resources = new ResourceHandler({
    view,
    plugins: deps.plugins,
    transform,
    logger,
    now: deps.now ?? unixSeconds,
  });

  const sendPage = (res: ServerResponse, status: number, inAdminLocation: boolean): void => {
    const body = errorPage(status);
    res.writeHead(status, {
      server,
      ...(inAdminLocation && cors ? CORS_HEADERS : undefined),
      'content-type': ERROR_PAGE_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const sendReply = (req: IncomingMessage, res: ServerResponse, { reply, v3 }: Outcome): void => {
    const payload = reply.body === undefined ? '' : reply.plain ? String(reply.body) : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      server,
      ...(cors ? CORS_HEADERS : undefined),
      ...(v3 ? { 'x-api-version': 'v3' } : undefined),
      // A body left unread (refused before reading, or over the size cap)
      // is not drained for keep-alive: the connection closes instead.
      ...(req.complete ? undefined : { connection: 'close' }),
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  };

  /** The generic handler's front half (§3): resource lookup, body, ttl. */
  const runResource = async (req: IncomingMessage, method: ResourceMethod, rest: readonly string[], args: QueryArgs, outcome: Outcome): Promise<AdminReply> => {
    const target = adminTarget(rest);
    const name = target.resource;
    // Credentials are only addressed below their consumer.
    const kind = name === 'credentials' && target.username === undefined ? undefined : kinds.get(name as ResourceName);
    const special = name === 'plugins' || name === 'schema';
    if (kind === undefined && !special) throw new AdminNotFoundError(`Unsupported resource type: ${name}`);
    if (special && method !== 'GET') throw new AdminNotFoundError('not found');

    const body = parseJsonBody(await readBody(req));
    const ttl = ttlArgument(args);
    outcome.v3 = true;
    if (name === 'plugins') return pluginSchemaReply(endpoints, target.id, args);
    if (name === 'schema') return coreSchemaReply(target.id);
    return resources.handle({ method, kind: kind as ResourceKind, target, body, args, ttl });
  };

  const route = async (req: IncomingMessage, method: string, rest: readonly string[], args: QueryArgs, outcome: Outcome): Promise<AdminReply> => {
    authenticate(req, args);
    const [first, second, third] = rest;
    if (first === 'plugins' && second === 'list' && rest.length === 2 && method === 'GET') {
      return pluginListReply(endpoints, args);
    }
    if (first === 'plugins' && second === 'reload' && rest.length === 2) {
      if (method !== 'PUT') {
        throw new MethodNotSupportedError(`please use PUT method to reload the plugins, ${method} method is not allowed.`);
      }
      await deps.onPluginsReload?.();
      logger.info('plugins reloaded through the Admin API');
      return { status: 200, body: 'done', plain: true };
    }
    if (first === 'schema' && second === 'validate' && third !== undefined && method === 'POST') {
      return schemaValidateReply(third, parseJsonBody(await readBody(req)));
    }
    if (first === 'configs' && second === 'validate' && rest.length === 2 && method === 'POST') {
      const doc = parseConfigDocument(await readBody(req), req.headers['content-type']);
      return configsValidateReply(doc, kinds, deps.plugins);
    }
    return runResource(req, method as ResourceMethod, rest, args, outcome);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (allowed !== undefined && !allowed(plainAddress(req.socket.remoteAddress))) return sendPage(res, 403, false);
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const segments = pathSegments(queryAt === -1 ? url : url.slice(0, queryAt));
    if (segments === undefined) return sendPage(res, 400, false);
    if (segments[0] !== 'apisix' || segments[1] !== 'admin') return sendPage(res, 404, false);

    const method = req.method ?? 'GET';
    if (method === 'OPTIONS' && cors) {
      res.writeHead(200, { server, ...PREFLIGHT_HEADERS });
      res.end();
      return;
    }
    const rest = segments.slice(2);
    if (rest.length === 0) {
      // `HEAD /apisix/admin` is the unauthenticated health probe.
      return method === 'HEAD' ? sendReply(req, res, { reply: EMPTY_OK, v3: false }) : sendPage(res, 404, true);
    }
    if (!RESOURCE_METHODS.has(method)) return sendPage(res, 404, true);

    const args = parseQuery(queryAt === -1 ? '' : url.slice(queryAt + 1));
    const outcome: Outcome = { reply: EMPTY_OK, v3: false };
    try {
      outcome.reply = await route(req, method, rest, args, outcome);
    } catch (err) {
      outcome.reply = errorReply(err, logger);
    }
    if (res.destroyed) return;
    sendReply(req, res, outcome);
  };

  return (req, res) => {
    dispatch(req, res).catch((err: unknown) => {
      logger.error({ err }, 'admin request failed');
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { server, 'content-type': 'application/json' });
        res.end('{"error_msg":"internal error"}');
      } else {
        res.destroy();
      }
    });
  };
}

/** `?ttl=` must be a number (Lua `tonumber`); fngate also requires it to be positive. */
function ttlArgument(args: QueryArgs): number | undefined {
  const raw = args.get('ttl')?.[0];
  if (raw === undefined) return undefined;
  const ttl = luaToNumber(raw);
  if (ttl === undefined || Number.isNaN(ttl)) throw new AdminBadRequestError('invalid argument ttl: should be a number');
  if (!(ttl > 0) || !Number.isFinite(ttl)) throw new AdminBadRequestError('invalid argument ttl: should be a positive number');
  return ttl;
}
