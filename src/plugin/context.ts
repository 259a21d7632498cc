/**
 * The implementation of the PDK's {@link PluginContext}: one object per
 * request on routes with plugins, handed to every phase of every plugin and
 * user function. Internal state lives in `#private` fields, so code that
 * stores its own properties on `ctx` cannot clobber the gateway's.
 */
import { format } from 'node:util';
import type { Logger } from '../log.js';
import type { Snapshot, CompiledRoute } from '../snapshot/snapshot.js';
import type { RequestContext } from '../http/request-context.js';
import type { MatchedInfo } from '../router/types.js';
import type { PhaseName } from '../pdk/plugin.js';
import type {
  Consumer,
  ConsumerEntry,
  HeaderValue,
  LogApi,
  PluginContext,
  RequestApi,
  ResponseApi,
  SharedCounters,
} from '../pdk/context.js';
import { FngateError } from '../errors.js';
import { RequestBodyTooLargeError } from '../http/body-limit.js';
import { consumerDirectory } from './consumers.js';

/** A PDK call was made in a phase where it cannot have an effect. */
export class PdkPhaseError extends FngateError {
  readonly code = 'PDK_WRONG_PHASE';
}

/** The request body was larger than the caller allowed. */
export class BodyTooLargeError extends FngateError {
  readonly code = 'REQUEST_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}

/**
 * Upstream request headers are built once, before the first attempt (as in
 * APISIX, whose before_proxy runs where nginx no longer lets a request
 * header change), so a change in before_proxy would be silently lost.
 */
const REQUEST_PHASES: ReadonlySet<PhaseName | undefined> = new Set(['rewrite', 'access', undefined]);
const BODY_PHASES: ReadonlySet<PhaseName | undefined> = new Set(['rewrite', 'access', undefined]);

function headerText(value: HeaderValue): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** What a request sends upstream, as plugins left it. */
export class RequestState implements RequestApi {
  /** Lower-case name → value (null: removed). */
  overrides: Map<string, HeaderValue | null> | undefined;
  methodOverride: string | undefined;
  /** The body once read or replaced; null = replaced by "no body". */
  body_: Buffer | null | undefined;
  #reading: Promise<Buffer | undefined> | undefined;

  constructor(private readonly core: RequestContext, private readonly ctx: GatewayContext) {}

  get method(): string {
    return this.methodOverride ?? this.core.req.method ?? 'GET';
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    const override = this.overrides?.get(lower);
    if (override !== undefined) return override === null ? undefined : headerText(override);
    return this.core.header(lower);
  }

  headers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.core.req.headers)) {
      if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    for (const [name, value] of this.overrides ?? []) {
      if (value === null) delete out[name];
      else out[name] = headerText(value);
    }
    return out;
  }

  setHeader(name: string, value: HeaderValue | null): void {
    GatewayContext.assertPhase(this.ctx, REQUEST_PHASES, 'ctx.request.setHeader');
    (this.overrides ??= new Map()).set(name.toLowerCase(), value);
  }

  setMethod(method: string): void {
    GatewayContext.assertPhase(this.ctx, BODY_PHASES, 'ctx.request.setMethod');
    this.methodOverride = method.toUpperCase();
  }

  body(options: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
    if (this.body_ !== undefined) return Promise.resolve(this.body_ ?? undefined);
    GatewayContext.assertPhase(this.ctx, BODY_PHASES, 'ctx.request.body');
    this.#reading ??= readWhole(this.core, options.maxBytes).then((body) => {
      this.body_ = body ?? null;
      return body;
    });
    return this.#reading;
  }

  setBody(body: string | Buffer | null): void {
    GatewayContext.assertPhase(this.ctx, BODY_PHASES, 'ctx.request.setBody');
    this.body_ = body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
  }

  /** True when plugins changed what goes upstream (headers, method or body). */
  get changed(): boolean {
    return this.overrides !== undefined || this.methodOverride !== undefined || this.body_ !== undefined;
  }
}

/** Read the client's body once; bodies without one resolve to undefined. */
function readWhole(core: RequestContext, maxBytes: number | undefined): Promise<Buffer | undefined> {
  const req = core.req;
  const length = req.headers['content-length'];
  if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) return Promise.resolve(undefined);
  if (maxBytes !== undefined && length !== undefined && Number(length) > maxBytes) {
    return Promise.reject(new BodyTooLargeError(maxBytes));
  }
  // client_max_body_size binds plugins too (a longer Content-Length never got here): past it, the request gets 413.
  const configured = core.clientMaxBodySize;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (configured > 0 && size > configured) {
        cleanup();
        reject(new RequestBodyTooLargeError(configured));
        return;
      }
      if (maxBytes !== undefined && size > maxBytes) {
        cleanup();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(size === 0 ? undefined : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The response going back to the client, as plugins shape it. */
export class ResponseState implements ResponseApi {
  /** Headers set before the response head exists (applied to it when it does). */
  pending: Map<string, HeaderValue | null> | undefined;
  /** The response head once known: upstream's, or the gateway's own. */
  headersObject: Record<string, HeaderValue> | undefined;
  status_ = 0;
  chunk: Buffer | string = '';
  eof_ = false;
  held: Buffer[] | undefined;
  /** Set once the head was written to the client. */
  sent = false;

  get status(): number {
    return this.status_;
  }

  set status(value: number) {
    if (this.sent) throw new PdkPhaseError('ctx.response.status cannot change after the response head was sent');
    this.status_ = value;
  }

  get eof(): boolean {
    return this.eof_;
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    if (this.headersObject) {
      const value = this.headersObject[lower];
      return value === undefined ? undefined : headerText(value);
    }
    const pending = this.pending?.get(lower);
    return pending === undefined || pending === null ? undefined : headerText(pending);
  }

  headers(): Record<string, HeaderValue> {
    if (this.headersObject) return { ...this.headersObject };
    const out: Record<string, HeaderValue> = {};
    for (const [name, value] of this.pending ?? []) if (value !== null) out[name] = value;
    return out;
  }

  setHeader(name: string, value: HeaderValue | null): void {
    if (this.sent) throw new PdkPhaseError('ctx.response.setHeader is not allowed after header_filter');
    const lower = name.toLowerCase();
    if (this.headersObject) {
      if (value === null) delete this.headersObject[lower];
      else this.headersObject[lower] = value;
      return;
    }
    (this.pending ??= new Map()).set(lower, value);
  }

  /** Make `headers` the response head, with the headers plugins set earlier applied on top. */
  adoptHead(status: number, headers: Record<string, HeaderValue>): void {
    this.status_ = status;
    this.headersObject = headers;
    for (const [name, value] of this.pending ?? []) {
      if (value === null) delete headers[name];
      else headers[name] = value;
    }
    this.pending = undefined;
  }

  holdBody(): Buffer | undefined {
    const chunk = typeof this.chunk === 'string' ? Buffer.from(this.chunk) : this.chunk;
    (this.held ??= []).push(chunk);
    this.chunk = '';
    if (!this.eof_) return undefined;
    const body = Buffer.concat(this.held);
    this.held = undefined;
    return body;
  }
}

const CORE = Symbol('core');

/** What `ctx.var` proxies: the request's core, under a key no variable name can be. */
interface VarTarget {
  readonly [CORE]: RequestContext;
}

/** `ctx.var`'s traps, shared by every request (only the target differs). */
const VAR_TRAPS: ProxyHandler<VarTarget> = {
  get: (target, name) => (typeof name === 'string' ? target[CORE].getVar(name) : undefined),
  set: (target, name, value) => {
    if (typeof name === 'string') target[CORE].setVar(name, value);
    return true;
  },
  has: (target, name) => typeof name === 'string' && target[CORE].getVar(name) !== undefined,
  // The core stays out of reach: ctx.var lists no keys of its own.
  ownKeys: () => [],
  getOwnPropertyDescriptor: () => undefined,
};

export interface ContextOptions {
  readonly core: RequestContext;
  readonly snapshot: Snapshot;
  readonly route: CompiledRoute | undefined;
  readonly logger: Logger;
  readonly counters: SharedCounters;
}

/**
 * @example
 *   const ctx = new GatewayContext({ core, snapshot, route, logger, counters });
 *   ctx.var.uri; ctx.request.setHeader('x-a', '1'); ctx.response.setHeader('x-b', '2');
 */
export class GatewayContext implements PluginContext {
  [property: string]: unknown;

  readonly #core: RequestContext;
  readonly #snapshot: Snapshot;
  readonly #route: CompiledRoute | undefined;
  readonly #logger: Logger;
  readonly #counters: SharedCounters;
  #var: Record<string, unknown> | undefined;
  #log: LogApi | undefined;
  /** Created on first use: most requests never touch what goes upstream. */
  #request: RequestState | undefined;
  readonly #response = new ResponseState();
  #consumer: Consumer | undefined;
  #confType: string | undefined;
  #confId: string | undefined;
  #confVersion: string | undefined;
  #phase: PhaseName | undefined;
  #plugin: string | undefined;
  #filterResults: Map<object, boolean> | undefined;

  constructor(options: ContextOptions) {
    this.#core = options.core;
    this.#snapshot = options.snapshot;
    this.#route = options.route;
    this.#logger = options.logger;
    this.#counters = options.counters;
    this.#confType = options.route?.confType;
    this.#confId = options.route?.confId;
    this.#confVersion = options.route?.confVersion;
  }

  get var(): Record<string, unknown> {
    return (this.#var ??= new Proxy({ [CORE]: this.#core } as VarTarget, VAR_TRAPS) as unknown as Record<string, unknown>);
  }

  get curr_req_matched(): MatchedInfo | undefined {
    return this.#core.matched;
  }

  get matched_route(): PluginContext['matched_route'] {
    const route = this.#route;
    if (!route) return undefined;
    return { key: route.key, value: route.value, modifiedIndex: Number(route.confVersion.split(/[#&]/)[0]) };
  }

  get route_id(): string | undefined {
    return this.#core.route?.id;
  }

  get route_name(): string | undefined {
    return this.#core.route?.name;
  }

  get service_id(): string | undefined {
    return this.#core.route?.serviceId;
  }

  get service_name(): string | undefined {
    return this.#core.route?.serviceName;
  }

  get conf_type(): string | undefined {
    return this.#confType;
  }

  get conf_id(): string | undefined {
    return this.#confId;
  }

  get conf_version(): string | undefined {
    return this.#confVersion;
  }

  get consumer(): Consumer | undefined {
    return this.#consumer;
  }

  get balancer_ip(): string | undefined {
    return this.#core.balancerIp;
  }

  get balancer_port(): number | undefined {
    return this.#core.balancerPort;
  }

  get consumer_name(): string | undefined {
    return this.#core.consumerName;
  }

  get consumer_group_id(): string | undefined {
    return this.#core.consumerGroupId;
  }

  get request(): RequestApi {
    return (this.#request ??= new RequestState(this.#core, this));
  }

  get response(): ResponseApi {
    return this.#response;
  }

  get counters(): SharedCounters {
    return this.#counters;
  }

  get log(): LogApi {
    if (this.#log) return this.#log;
    const emit = (level: 'error' | 'warn' | 'info' | 'debug', args: unknown[]) => {
      if (!this.#logger.isLevelEnabled(level)) return;
      this.#logger[level]({ route: this.#core.route?.id, plugin: this.#plugin, phase: this.#phase }, format(...args));
    };
    this.#log = {
      error: (...args) => emit('error', args),
      warn: (...args) => emit('warn', args),
      info: (...args) => emit('info', args),
      debug: (...args) => emit('debug', args),
    };
    return this.#log;
  }

  attachConsumer(entry: ConsumerEntry): void {
    const consumer = entry.credentialId === undefined ? entry.consumer : { ...entry.consumer, credential_id: entry.credentialId };
    this.#consumer = consumer;
    this.#core.consumerName = consumer.username;
    this.#core.consumerGroupId = consumer.group_id;
    // spec/plugins.md §4: the upstream learns who the consumer is.
    const request = (this.#request ??= new RequestState(this.#core, this));
    const overrides = (request.overrides ??= new Map());
    overrides.set('x-consumer-username', consumer.username);
    if (entry.credentialId !== undefined) overrides.set('x-credential-identifier', entry.credentialId);
    const customId = consumer.labels?.custom_id;
    if (customId !== undefined) overrides.set('x-consumer-custom-id', customId);
  }

  consumersWith(pluginName: string): readonly ConsumerEntry[] {
    return consumerDirectory(this.#snapshot).with(pluginName);
  }

  consumerByName(username: string): ConsumerEntry | undefined {
    return consumerDirectory(this.#snapshot).entry(username);
  }

  pluginMetadata(pluginName: string): Readonly<Record<string, unknown>> | undefined {
    return this.#snapshot.pluginMetadata.get(pluginName)?.value;
  }

  // ---- framework-side access ----
  // Static, so nothing on the instance (where plugins and user functions
  // store their own properties) can shadow them.

  /** The request the core parsed. */
  static coreOf(ctx: GatewayContext): RequestContext {
    return ctx.#core;
  }

  static snapshotOf(ctx: GatewayContext): Snapshot {
    return ctx.#snapshot;
  }

  static routeOf(ctx: GatewayContext): CompiledRoute | undefined {
    return ctx.#route;
  }

  /** What plugins changed about the upstream request; undefined when no plugin asked for `ctx.request`. */
  static requestOf(ctx: GatewayContext): RequestState | undefined {
    return ctx.#request;
  }

  static responseOf(ctx: GatewayContext): ResponseState {
    return ctx.#response;
  }

  /** Which phase and plugin run now (for PDK checks and log lines). */
  static enter(ctx: GatewayContext, phase: PhaseName | undefined, plugin: string | undefined): void {
    ctx.#phase = phase;
    ctx.#plugin = plugin;
  }

  /** After a consumer merge: the effective configuration's identity (spec/plugins.md §4). */
  static setConfIdentity(ctx: GatewayContext, type: string, id: string, version: string): void {
    ctx.#confType = type;
    ctx.#confId = id;
    ctx.#confVersion = version;
  }

  /** `_meta.filter` results are computed once per request per plugin instance (spec §5.4). */
  static filterResults(ctx: GatewayContext): Map<object, boolean> {
    return (ctx.#filterResults ??= new Map());
  }

  /** @internal PDK phase rule check used by the request/response APIs. */
  static assertPhase(ctx: GatewayContext, allowed: ReadonlySet<PhaseName | undefined>, call: string): void {
    if (!allowed.has(ctx.#phase)) throw new PdkPhaseError(`${call} is not allowed in the ${ctx.#phase} phase`);
  }
}
