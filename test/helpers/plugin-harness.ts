/**
 * Run one plugin's phases in-process on the gateway's real request context
 * (GatewayContext over a parsed request), with configurations checked and
 * defaulted by the real plugin registry, for plugin unit tests.
 */
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { silentLogger } from '../../src/log.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import type { JsonObject } from '../../src/resources/types.js';
import type { AnyPluginDefinition, PhaseName } from '../../src/pdk/plugin.js';
import type { HeaderValue, SharedCounters } from '../../src/pdk/context.js';
import { RequestContext } from '../../src/http/request-context.js';
import { GatewayContext } from '../../src/plugin/context.js';
import { PluginRegistry } from '../../src/plugin/registry.js';
import { LocalCounters } from '../../src/cluster/counters.js';

export interface HarnessRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** `$remote_addr` (default 127.0.0.1). */
  readonly remoteAddr?: string;
  readonly counters?: SharedCounters;
  /** `plugin_metadata` values by plugin name. */
  readonly metadata?: Record<string, JsonObject>;
  /** `ctx.conf_type` / `ctx.conf_id` (default `route` / `1`). */
  readonly confType?: string;
  readonly confId?: string;
}

/** The node's in-process counters (what one worker uses), recording the keys counted on. */
export function memoryCounters(): SharedCounters & { readonly keys: () => string[] } {
  const counters = new LocalCounters({ sweepIntervalMs: 0 });
  const keys = new Set<string>();
  return {
    incr(key, delta, windowSeconds) {
      keys.add(key);
      return counters.incr(key, delta, windowSeconds);
    },
    keys: () => [...keys],
  };
}

export class PluginHarness {
  readonly registry: PluginRegistry;

  constructor(readonly plugin: AnyPluginDefinition) {
    this.registry = new PluginRegistry({ definitions: [plugin], enabled: undefined, logger: silentLogger });
  }

  /** The registry's verdict on `conf` for a route: undefined when valid (defaults are then filled in). */
  check(conf: JsonObject): string | undefined {
    return this.registry.checkPlugins({ [this.plugin.name]: conf }, 'route', true);
  }

  /** `conf` as the gateway runs it: valid, defaults filled. */
  conf(conf: JsonObject): JsonObject {
    const error = this.check(conf);
    assert.equal(error, undefined, `configuration refused: ${error}`);
    return conf;
  }

  /** A request as the router left it (`target` is the raw request-target; `$uri` is its path). */
  request(target: string, options: HarnessRequest = {}): GatewayContext {
    const req = new IncomingMessage(new Socket());
    req.method = options.method ?? 'GET';
    req.url = target;
    req.headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    req.rawHeaders = Object.entries(options.headers ?? {}).flat();
    const mark = target.indexOf('?');
    const core = new RequestContext(
      req, new ServerResponse(req),
      decodeURIComponent(mark === -1 ? target : target.slice(0, mark)), mark === -1 ? '' : target.slice(mark + 1),
      'localhost', options.remoteAddr ?? '127.0.0.1', { scheme: 'http', port: 9080 },
    );
    const snapshot = {
      pluginMetadata: new Map(Object.entries(options.metadata ?? {}).map(([name, value]) => [name, { value }])),
      consumers: new Map(),
      credentials: new Map(),
      consumerGroups: new Map(),
    } as unknown as Snapshot;
    const ctx = new GatewayContext({ core, snapshot, route: undefined, logger: silentLogger, counters: options.counters ?? memoryCounters() });
    GatewayContext.setConfIdentity(ctx, options.confType ?? 'route', options.confId ?? '1', '1');
    return ctx;
  }

  /** Run a phase as the runner does (phase rules enforced); returns what the phase returned, awaited. */
  async run(phase: PhaseName, conf: JsonObject, ctx: GatewayContext): Promise<unknown> {
    const fn = this.plugin[phase] as ((conf: JsonObject, ctx: GatewayContext) => unknown) | undefined;
    assert.ok(fn, `${this.plugin.name} has no ${phase} phase`);
    GatewayContext.enter(ctx, phase, this.plugin.name);
    try {
      return await fn.call(this.plugin, conf, ctx);
    } finally {
      GatewayContext.enter(ctx, undefined, undefined);
    }
  }

  /**
   * The response side: the head arrives (`status`, `headers`), header_filter
   * runs, then body_filter once per chunk (the last one with eof). Returns
   * the head and body the client would get.
   */
  async respond(conf: JsonObject, ctx: GatewayContext, status: number, headers: Record<string, HeaderValue>, chunks: ReadonlyArray<string | Buffer>): Promise<{ status: number; headers: Record<string, HeaderValue>; body: Buffer }> {
    const state = GatewayContext.responseOf(ctx);
    state.adoptHead(status, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])));
    if (this.plugin.header_filter) await this.run('header_filter', conf, ctx);
    const out: Buffer[] = [];
    if (this.plugin.body_filter) {
      const all = chunks.length === 0 ? [''] : chunks;
      for (let i = 0; i < all.length; i++) {
        state.chunk = all[i] as string | Buffer;
        state.eof_ = i === all.length - 1;
        await this.run('body_filter', conf, ctx);
        out.push(Buffer.from(state.chunk));
      }
    } else {
      for (const chunk of chunks) out.push(Buffer.from(chunk));
    }
    return { status: state.status, headers: state.headersObject ?? {}, body: Buffer.concat(out) };
  }
}

/** What the upstream would receive: target, method and the changed headers (null: removed). */
export function upstreamView(ctx: GatewayContext): { uri: string | undefined; host: string | undefined; method: string; headers: Record<string, HeaderValue | null> } {
  const core = GatewayContext.coreOf(ctx);
  const request = GatewayContext.requestOf(ctx);
  return { uri: core.upstreamUri, host: core.upstreamHost, method: request?.method ?? core.req.method ?? 'GET', headers: Object.fromEntries(request?.overrides ?? []) };
}

/** Headers set on the response before its head exists (e.g. by an access phase). */
export function pendingResponseHeaders(ctx: GatewayContext): Record<string, HeaderValue | null> {
  return Object.fromEntries(GatewayContext.responseOf(ctx).pending ?? []);
}
