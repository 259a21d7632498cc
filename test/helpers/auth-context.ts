/**
 * Request contexts for auth plugin unit tests: consumers and credentials as
 * a snapshot holds them, and the gateway's GatewayContext over a parsed
 * request, entered in the rewrite phase of the plugin under test.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { silentLogger } from '../../src/log.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import type { LoadedItem } from '../../src/snapshot/config-state.js';
import type { JsonObject } from '../../src/resources/types.js';
import { RequestContext } from '../../src/http/request-context.js';
import { GatewayContext } from '../../src/plugin/context.js';

function item(id: string, value: JsonObject): LoadedItem {
  return { id, key: `/apisix/consumers/${id}`, value, createRevision: 1, modRevision: 1 };
}

/**
 * Consumers (keyed by username) and credentials (ids `user/credentials/id`) as a snapshot holds them.
 *
 * @example consumerSnapshot([{ username: 'jack', plugins: { 'key-auth': { key: 'k' } } }])
 */
export function consumerSnapshot(consumers: readonly JsonObject[], credentials: ReadonlyArray<{ id: string; value: JsonObject }> = []): Snapshot {
  return {
    consumers: new Map(consumers.map((c) => [String(c.username), item(String(c.username), c)])),
    credentials: new Map(credentials.map((c) => [c.id, item(c.id, c.value)])),
    consumerGroups: new Map(),
    pluginMetadata: new Map(),
  } as unknown as Snapshot;
}

/**
 * A GET of `target` with `headers`, in `plugin`'s rewrite phase over `snapshot`.
 *
 * @example const ctx = authContext('key-auth', '/p?apikey=k', {}, snapshot);
 */
export function authContext(plugin: string, target: string, headers: Record<string, string>, snapshot: Snapshot): GatewayContext {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = target;
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const mark = target.indexOf('?');
  const core = new RequestContext(
    req, new ServerResponse(req),
    mark === -1 ? target : target.slice(0, mark), mark === -1 ? '' : target.slice(mark + 1),
    'localhost', '127.0.0.1', { scheme: 'http', port: 9080 },
  );
  const ctx = new GatewayContext({ core, snapshot, route: undefined, logger: silentLogger, counters: { incr: () => ({ count: 1, ttl: 1 }) } });
  GatewayContext.enter(ctx, 'rewrite', plugin);
  return ctx;
}
