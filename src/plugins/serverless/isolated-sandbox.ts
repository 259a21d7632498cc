/**
 * The hardened sandbox (`fngate.serverless.sandbox: isolated`): each user
 * function runs in its own isolated-vm isolate — a separate V8 heap with a
 * memory cap (`memory_mb`) and a time limit on every entry
 * (`timeout_ms`). A function that loops or allocates without end fails its
 * request with 500; the worker and every other function live on.
 *
 * Nothing crosses the boundary by reference (src/plugins/serverless/isolate-bridge.ts
 * is the isolate side): `conf` is copied in once per configuration, `ctx` is
 * a view whose reads and writes are host calls with copied values, verdicts
 * come back by value as JSON. docs/plugins/serverless.md lists what works in
 * this mode and what does not.
 *
 * An isolate killed by its memory cap is rebuilt on the next call (its chunk
 * runs again, so closure state starts over), and logged.
 */
import vm from 'node:vm';
import type IsolatedVM from 'isolated-vm';
import type { Logger } from '../../log.js';
import type { HeaderValue, PluginContext } from '../../pdk/context.js';
import {
  CHUNK_TIMEOUT_MS,
  UserFunctionError,
  instrument,
  messageOf,
  sourceName,
  type CallHooks,
  type CallState,
  type FunctionLabel,
  type UserFunction,
  type UserFunctionSandbox,
} from '../../plugin/user-function.js';
import { BRIDGE_SOURCE, type CallOutcome, type HostOp, type Settled } from './isolate-bridge.js';
import { ServerlessConfigError } from './errors.js';

export type IsolatedVm = typeof IsolatedVM;

/** The node flag isolated-vm needs on Node 20+ (its README; V8's shared read-only heap). */
export const NO_NODE_SNAPSHOT = '--no-node-snapshot';

/**
 * Load isolated-vm, or explain why the isolated mode cannot start.
 * (`specifier` exists for the test of that explanation.)
 *
 * @example
 *   const ivm = await loadIsolatedVm(); // throws ServerlessConfigError when the module did not build
 */
export async function loadIsolatedVm(specifier = 'isolated-vm'): Promise<IsolatedVm> {
  try {
    const mod = (await import(specifier)) as { default: IsolatedVm };
    return mod.default;
  } catch (err) {
    throw new ServerlessConfigError(
      `fngate.serverless.sandbox is "isolated" but the isolated-vm module cannot be loaded (${messageOf(err)}). ` +
      'It is an optional dependency compiled at install time (it needs python3, make and a C++ compiler): ' +
      'reinstall it with `npm install isolated-vm@5.0.4`, or set fngate.serverless.sandbox to "vm".',
    );
  }
}

export interface IsolatedSandboxOptions {
  readonly ivm: IsolatedVm;
  /** Limit of every entry into an isolate (a call, a settled await), ms. */
  readonly timeoutMs: number;
  /** Heap cap of each isolate, MB (isolated-vm's minimum is 8). */
  readonly memoryMb: number;
  readonly logger: Logger;
  readonly hooks?: CallHooks;
}

/** `ctx` fields a function may read (copied); anything else readable is a property a plugin or function stored. */
const CONTEXT_FIELDS: ReadonlySet<string> = new Set([
  'route_id', 'route_name', 'service_id', 'service_name', 'conf_type', 'conf_id', 'conf_version',
  'consumer', 'consumer_name', 'consumer_group_id', 'curr_req_matched', 'matched_route',
]);

const LOG_LEVELS: ReadonlySet<string> = new Set(['error', 'warn', 'info', 'debug']);

/** One call in progress, from its start until its (possibly async) result. */
interface CallRecord {
  readonly ctx: PluginContext;
  readonly unit: IsolateUnit;
  /** Set once the call turned out async. */
  done: { resolve(value: unknown): void; reject(err: Error): void } | undefined;
}

type Reference = IsolatedVM.Reference;

/** No configuration copied in yet. */
const NO_CONF = Symbol('no conf');

function text(value: Buffer | string | undefined): string | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? value : value.toString('utf8');
}

function asBody(value: unknown): string | Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return String(value);
}

/** An async call's failure as it came out of the isolate: `{message, stack}`. */
function toError(value: unknown): Error {
  const { message, stack } = (value ?? {}) as { message?: unknown; stack?: unknown };
  const err = new Error(typeof message === 'string' ? message : String(value));
  if (typeof stack === 'string') err.stack = stack;
  return err;
}

/** `ctx.<name>` for the isolate: PDK fields, or properties stored on the request's ctx. */
function readField(ctx: PluginContext, name: string): unknown {
  if (CONTEXT_FIELDS.has(name) || Object.hasOwn(ctx, name)) return ctx[name];
  return undefined;
}

function writeField(ctx: PluginContext, name: string, value: unknown): void {
  if (CONTEXT_FIELDS.has(name) || (name in ctx && !Object.hasOwn(ctx, name))) {
    throw new TypeError(`ctx.${name} is read-only`);
  }
  if (value === undefined) delete ctx[name];
  else ctx[name] = value;
}

/**
 * Answers the isolate's host calls for one function. Holds the call records
 * and no isolate handle, so the isolate (which keeps this callback alive)
 * and the host objects that keep the isolate alive form no cycle.
 */
function hostDispatcher(records: Map<number, CallRecord>, logger: Logger, state: CallState) {
  return (op: HostOp, h: number, a?: unknown, b?: unknown): unknown => {
    if (op === 'log') {
      const level = String(a);
      if (LOG_LEVELS.has(level) && logger.isLevelEnabled(level)) {
        const route = records.get(h)?.ctx.route_id ?? state.route;
        logger[level as 'error']({ route }, String(b));
      }
      return undefined;
    }
    const record = records.get(h);
    if (record === undefined) throw new Error(`ctx is not available here: its request is over (${op})`);
    const ctx = record.ctx;
    switch (op) {
      case 'get': return readField(ctx, String(a));
      case 'set': writeField(ctx, String(a), b); return undefined;
      case 'pluginMetadata': return ctx.pluginMetadata(String(a));
      case 'var': return ctx.var[String(a)];
      case 'var=': ctx.var[String(a)] = b; return undefined;
      case 'request.method': return ctx.request.method;
      case 'request.header': return ctx.request.header(String(a));
      case 'request.headers': return ctx.request.headers();
      case 'request.setHeader': ctx.request.setHeader(String(a), b as HeaderValue | null); return undefined;
      case 'request.setMethod': ctx.request.setMethod(String(a)); return undefined;
      case 'request.body': return record.unit.startOperation(h, ctx.request.body().then(text));
      case 'request.setBody': ctx.request.setBody(asBody(a)); return undefined;
      case 'response.status': return ctx.response.status;
      case 'response.status=': ctx.response.status = Number(a); return undefined;
      case 'response.header': return ctx.response.header(String(a));
      case 'response.headers': return ctx.response.headers();
      case 'response.setHeader': ctx.response.setHeader(String(a), b as HeaderValue | null); return undefined;
      case 'response.chunk': return text(ctx.response.chunk);
      case 'response.chunk=': ctx.response.chunk = asBody(a) ?? ''; return undefined;
      case 'response.eof': return ctx.response.eof;
      case 'response.holdBody': return text(ctx.response.holdBody());
    }
    throw new Error(`unknown host operation ${String(op)}`);
  };
}

/** One compiled function: its isolate, the bridge's entry points, and the calls in flight. */
class IsolateUnit {
  readonly #isolate: IsolatedVM.Isolate;
  readonly #records: Map<number, CallRecord>;
  readonly #options: IsolatedSandboxOptions;
  readonly #call: Reference;
  readonly #take: Reference;
  readonly #settle: Reference;
  readonly #setConf: Reference;
  #conf: unknown = NO_CONF;
  #nextHandle = 0;
  #nextOperation = 0;
  /** Async calls not settled yet. */
  #pending = 0;

  /** @throws UserFunctionError (APISIX messages) when the chunk fails or returns no function. */
  constructor(source: string, label: FunctionLabel, state: CallState, options: IsolatedSandboxOptions) {
    const { ivm } = options;
    this.#options = options;
    this.#records = new Map();
    const isolate = new ivm.Isolate({
      memoryLimit: options.memoryMb,
      // isolated-vm's advice: V8 lost control of the isolate; nothing in this process can be trusted now.
      onCatastrophicError: (message: string) => {
        options.logger.fatal({ plugin: label.plugin, function: label.function, err: message }, 'isolated-vm failure; aborting the worker');
        process.abort();
      },
    });
    this.#isolate = isolate;
    try {
      const context = isolate.createContextSync();
      const host = new ivm.Callback(hostDispatcher(this.#records, options.logger.child({ plugin: label.plugin, function: label.function }), state));
      const bridge = context.evalClosureSync(BRIDGE_SOURCE, [host], { result: { reference: true }, timeout: CHUNK_TIMEOUT_MS }) as Reference;
      let fn: Reference;
      try {
        fn = context.evalClosureSync(source, [], { result: { reference: true }, timeout: CHUNK_TIMEOUT_MS, filename: `file:///${sourceName(label)}` }) as Reference;
      } catch (err) {
        throw new UserFunctionError(`pcall error: ${this.#explain(err).message}`);
      }
      if (fn.typeof !== 'function') {
        throw new UserFunctionError(`only accept JavaScript function, the input code type is ${fn.typeof}`);
      }
      const entry = (name: string) => bridge.getSync(name, { reference: true }) as Reference;
      entry('install').applySync(undefined, [fn.derefInto()]);
      this.#call = entry('call');
      this.#take = entry('take');
      this.#settle = entry('settle');
      this.#setConf = entry('setConf');
    } catch (err) {
      isolate.dispose();
      throw err;
    }
  }

  get disposed(): boolean {
    return this.#isolate.isDisposed;
  }

  dispose(): void {
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }

  /** Call the function with `(conf, ctx)`: its JSON result, or a promise of it. */
  call(conf: unknown, ctx: PluginContext): unknown {
    const { ivm, timeoutMs } = this.#options;
    if (conf !== this.#conf) {
      // A configuration is immutable per version: copied in once, not per call.
      this.#enter(() => this.#setConf.applySync(undefined, [new ivm.ExternalCopy(conf).copyInto()], { timeout: timeoutMs }));
      this.#conf = conf;
    }
    const h = ++this.#nextHandle;
    const record: CallRecord = { ctx, unit: this, done: undefined };
    this.#records.set(h, record);
    let outcome: CallOutcome;
    try {
      outcome = this.#enter(() => this.#call.applySync(undefined, [h], { timeout: timeoutMs, result: { copy: true } }) as CallOutcome);
    } catch (err) {
      this.#records.delete(h);
      throw err;
    }
    if (!('pending' in outcome)) {
      this.#records.delete(h);
      if (this.#pending > 0) this.#collect();
      return outcome.value;
    }
    this.#pending++;
    return new Promise((resolve, reject) => {
      record.done = { resolve, reject };
      // Most async functions finished within the call (their awaits were on the isolate's own promises).
      this.#collect();
    });
  }

  /** The isolate awaits a host operation: returns its id, settles it in the isolate when done. */
  startOperation(h: number, operation: Promise<unknown>): number {
    const id = ++this.#nextOperation;
    const finish = (ok: boolean, value: unknown) => {
      if (this.disposed) return;
      try {
        this.#enter(() => this.#settle.applySync(undefined, [id, ok, value], { timeout: this.#options.timeoutMs, arguments: { copy: true } }));
      } catch (err) {
        this.#fail(h, err as Error);
        return;
      }
      this.#collect();
    };
    operation.then((value) => finish(true, value), (err: unknown) => finish(false, messageOf(err)));
    return id;
  }

  /** Resolve the async calls that finished inside the isolate. */
  #collect(): void {
    if (this.#pending === 0) return;
    let finished: Settled[];
    try {
      finished = this.#enter(() => this.#take.applySync(undefined, [], { timeout: this.#options.timeoutMs, result: { copy: true } }) as Settled[]);
    } catch {
      return;
    }
    for (const [h, ok, value] of finished) {
      const record = this.#records.get(h);
      // `done` is set in the same turn as the call that went async, before any collection.
      if (record?.done === undefined) continue;
      this.#records.delete(h);
      this.#pending--;
      if (ok) record.done.resolve(value);
      else record.done.reject(toError(value));
    }
  }

  #fail(h: number, err: Error): void {
    const record = this.#records.get(h);
    if (record?.done === undefined) return;
    this.#records.delete(h);
    this.#pending--;
    record.done.reject(err);
  }

  /** Run an entry into the isolate; when the isolate died of its memory cap, fail every call in flight. */
  #enter<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      const explained = this.#explain(err);
      if (this.#isolate.isDisposed) {
        for (const [h] of this.#records) this.#fail(h, explained);
        this.#records.clear();
        this.#pending = 0;
      }
      throw explained;
    }
  }

  /** isolated-vm's messages, with the setting that caused them. */
  #explain(err: unknown): Error {
    const error = err instanceof Error ? err : new Error(messageOf(err));
    if (/timed out/i.test(error.message)) {
      error.message = `${error.message} (fngate.serverless.timeout_ms: ${this.#options.timeoutMs})`;
    } else if (/memory limit/i.test(error.message)) {
      error.message = `${error.message} (fngate.serverless.memory_mb: ${this.#options.memoryMb})`;
    }
    return error;
  }
}

/** A syntax check in the host realm: the code is compiled, never run, so a parse error reads as in the vm mode. */
function parseCheck(source: string): void {
  try {
    vm.compileFunction(source, []);
  } catch (err) {
    throw new UserFunctionError(`failed to loadstring: ${messageOf(err)}`);
  }
}

/**
 * @example
 *   const ivm = await loadIsolatedVm();
 *   const sandbox = createIsolatedSandbox({ ivm, timeoutMs: 100, memoryMb: 32, logger });
 *   const fn = sandbox.compile('return (conf, ctx) => [403, { denied: ctx.var.uri }]');
 */
export function createIsolatedSandbox(options: IsolatedSandboxOptions): UserFunctionSandbox {
  if (options.memoryMb < 8) throw new ServerlessConfigError('fngate.serverless.memory_mb must be at least 8 (isolated-vm\'s minimum)');
  const { logger } = options;
  const settings = options;
  return {
    mode: 'isolated',
    compile(source, label = { function: '_meta.pre_function' }) {
      parseCheck(source);
      const state: CallState = { route: undefined };
      let unit = new IsolateUnit(source, label, state, settings);
      const fn: UserFunction = (conf, ctx) => {
        if (unit.disposed) {
          logger.warn({ plugin: label.plugin, function: label.function, route: state.route }, 'isolate was disposed (memory cap); starting the function again, its state is lost');
          unit = new IsolateUnit(source, label, state, settings);
        }
        return unit.call(conf, ctx as PluginContext);
      };
      return instrument(fn, state, options.hooks, label);
    },
    check(source) {
      try {
        parseCheck(source);
        new IsolateUnit(source, { function: 'validation' }, { route: undefined }, settings).dispose();
        return undefined;
      } catch (err) {
        return messageOf(err);
      }
    },
  };
}
