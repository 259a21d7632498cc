/**
 * User-supplied JavaScript that must return a function: the serverless
 * plugins' `functions` and `_meta.pre_function` (spec/serverless.md §2.5,
 * spec/plugins.md §5.5). This module is the one compiler both go through.
 *
 * The source is the *body* of a chunk: `return function (conf, ctx) {...}`.
 * The chunk runs once per compilation, so the variables it declares persist
 * across requests (closures) for as long as the compiled function is kept —
 * callers keep it per configuration object, so until that configuration
 * changes.
 *
 * Compilation goes through the process's {@link UserFunctionSandbox}. The
 * default is the `vm` sandbox below: each function in its own `node:vm`
 * context (its own globals, no `require`, no `process`, no `eval`), called
 * directly. That isolates globals; it is not a security boundary, because
 * the host objects a function is handed (`ctx`, `conf`, `Buffer`, `log`)
 * belong to the gateway's realm and lead back to its `Function` constructor.
 * The hardened `isolated` sandbox (src/plugins/serverless/isolated-sandbox.ts)
 * is installed with {@link useUserFunctionSandbox}; docs/plugins/serverless.md
 * states what each mode protects.
 *
 * Errors carry APISIX's three message prefixes (`failed to loadstring:`,
 * `pcall error:`, `only accept JavaScript function, the input code type is`)
 * because users script against that structure.
 */
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { format } from 'node:util';
import { createLogger, type Logger } from '../log.js';
import { FngateError } from '../errors.js';

export type UserFunction = (conf: unknown, ctx: unknown) => unknown;

/** A chunk that does not compile, throws, or does not return a function. */
export class UserFunctionError extends FngateError {
  readonly code = 'USER_FUNCTION_INVALID';
}

/** Where a function is configured: named in its log lines, stack traces and the watchdog report. */
export interface FunctionLabel {
  /** The plugin whose configuration holds the function (absent for `_meta.pre_function`). */
  readonly plugin?: string;
  /** Which function: `functions[0]`, `phases.header_filter[1]`, `_meta.pre_function`. */
  readonly function: string;
}

/**
 * Observes every call of a compiled function. The watchdog
 * (src/plugins/serverless/watchdog.ts) implements it to know which function
 * runs when the event loop stalls. `register` runs once per compilation,
 * `enter`/`leave` around each call's synchronous part.
 */
export interface CallHooks {
  register(label: FunctionLabel): number;
  enter(id: number, routeId: string | undefined): void;
  leave(id: number): void;
}

/** What a function's `log` global knows about the call in progress (its route). */
export interface CallState {
  route: string | undefined;
}

/** Compiles and checks user functions; one per process, chosen at start from `fngate.serverless`. */
export interface UserFunctionSandbox {
  readonly mode: 'vm' | 'isolated';
  /**
   * Compile `source` and run the chunk once; returns the function it returned.
   * @throws UserFunctionError with APISIX's message structure.
   */
  compile(source: string, label?: FunctionLabel): UserFunction;
  /** Validate `source` the same way and release everything: the APISIX message, or undefined. */
  check(source: string): string | undefined;
}

/**
 * How long a chunk's top-level code may run when it is compiled (at Admin
 * writes, at load, on first use). It runs in the Admin API's process too, so
 * `for (;;) {}` at the top level must not hang the control plane.
 */
export const CHUNK_TIMEOUT_MS = 1_000;

const PRE_FUNCTION: FunctionLabel = Object.freeze({ function: '_meta.pre_function' });

/**
 * Errors thrown inside a vm context come from another realm: `instanceof Error` is false for them.
 *
 * @example
 *   messageOf(vm.runInNewContext('new Error("x")')); // 'x'
 */
export function messageOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

/**
 * `typeof` in the words APISIX users read (`undefined` stands for Lua's nil); null is named as such.
 *
 * @example
 *   describeType(null); // 'null'
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  return typeof value;
}

/**
 * The file name stack traces show for a function.
 *
 * @example
 *   sourceName({ plugin: 'serverless-pre-function', function: 'functions[0]' }); // 'serverless-pre-function/functions[0]'
 */
export function sourceName(label: FunctionLabel): string {
  return label.plugin === undefined ? label.function : `${label.plugin}/${label.function}`;
}

function routeOf(ctx: unknown): string | undefined {
  const id = (ctx as { route_id?: unknown } | undefined)?.route_id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Wrap a compiled function so each call records its route (for `log`) and
 * tells the hooks when it enters and leaves. Only the synchronous part is
 * marked: an async function has left once it returned its promise.
 *
 * @example
 *   const call = instrument(fn, state, watchdog, { plugin: 'serverless-pre-function', function: 'functions[0]' });
 *   call(conf, ctx);
 */
export function instrument(fn: UserFunction, state: CallState, hooks: CallHooks | undefined, label: FunctionLabel): UserFunction {
  if (hooks === undefined) {
    return (conf, ctx) => {
      state.route = routeOf(ctx);
      return fn(conf, ctx);
    };
  }
  const id = hooks.register(label);
  return (conf, ctx) => {
    const route = routeOf(ctx);
    state.route = route;
    hooks.enter(id, route);
    try {
      return fn(conf, ctx);
    } finally {
      hooks.leave(id);
    }
  };
}

type LogLevel = 'error' | 'warn' | 'info' | 'debug';

interface UserLog {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

/**
 * The `log` global of one function: gateway log lines tagged with the
 * plugin, the function and the route of the call in progress.
 */
function userLog(logger: Logger, label: FunctionLabel, state: CallState): UserLog {
  const bound = logger.child({ plugin: label.plugin, function: label.function });
  const emit = (level: LogLevel) => (...args: unknown[]): void => {
    if (bound.isLevelEnabled(level)) bound[level]({ route: state.route }, format(...args));
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
}

/** `console` over the same log: `console.log` is info. */
function userConsole(log: UserLog): Record<string, (...args: unknown[]) => void> {
  return { log: log.info, info: log.info, warn: log.warn, error: log.error, debug: log.debug, trace: log.debug };
}

export interface VmSandboxOptions {
  /** Where `log` and `console` write (default: a process logger). */
  readonly logger?: Logger;
  /** Module names `require()` may load (`fngate.serverless.allowed_modules`); none: no `require` at all. */
  readonly allowedModules?: readonly string[];
  /** Call observers (the watchdog). */
  readonly hooks?: CallHooks;
  /**
   * `node` (default): the host helpers of the vm mode (`Buffer`, `URL`, ...).
   * `ecmascript`: only the language's built-ins plus `log`/`console`, the
   * globals of an isolated-vm isolate, to validate for the isolated mode in a
   * process that cannot load it safely.
   */
  readonly globals?: 'node' | 'ecmascript';
}

const CONTEXT_OPTIONS: vm.CreateContextOptions = Object.freeze({ codeGeneration: Object.freeze({ strings: false, wasm: false }) });
const CHUNK_SLOT = '__fngateChunk';
const RUN_CHUNK = new vm.Script(`(0, globalThis[${JSON.stringify(CHUNK_SLOT)}])()`, { filename: 'fngate:chunk' });

function requireOf(allowed: readonly string[]): ((name: unknown) => unknown) | undefined {
  if (allowed.length === 0) return undefined;
  const names = new Set(allowed);
  const hostRequire = createRequire(import.meta.url);
  return (name: unknown) => {
    if (typeof name !== 'string' || !names.has(name)) {
      throw new Error(`require(${JSON.stringify(name)}) is not allowed: fngate.serverless.allowed_modules lists the modules functions may load`);
    }
    return hostRequire(name);
  };
}

/**
 * The default sandbox: one `node:vm` context per function, compiled once,
 * called directly (about the cost of a plain call).
 *
 * @example
 *   const sandbox = createVmSandbox({ allowedModules: ['node:crypto'] });
 *   const fn = sandbox.compile('const { createHash } = require("node:crypto"); return (conf, ctx) => createHash("sha1")');
 *   sandbox.check('return 1'); // 'only accept JavaScript function, the input code type is number'
 */
export function createVmSandbox(options: VmSandboxOptions = {}): UserFunctionSandbox {
  const hooks = options.hooks;
  const hostRequire = requireOf(options.allowedModules ?? []);
  const ecmascriptOnly = options.globals === 'ecmascript';
  let logger = options.logger;

  function globalsFor(label: FunctionLabel, state: CallState): vm.Context {
    logger ??= createLogger().child({ module: 'user-function' });
    const log = userLog(logger, label, state);
    const globals: Record<string, unknown> = { log, console: userConsole(log) };
    if (!ecmascriptOnly) {
      Object.assign(globals, { Buffer, URL, URLSearchParams, TextEncoder, TextDecoder, structuredClone, atob, btoa });
      if (hostRequire) globals.require = hostRequire;
    }
    return globals;
  }

  /** Compile in a fresh context and run the chunk (bounded by CHUNK_TIMEOUT_MS). */
  function evaluate(source: string, label: FunctionLabel, state: CallState): UserFunction {
    const context = vm.createContext(globalsFor(label, state), { ...CONTEXT_OPTIONS, name: sourceName(label) });
    let chunk: () => unknown;
    try {
      chunk = vm.compileFunction(source, [], { parsingContext: context, filename: sourceName(label) }) as () => unknown;
    } catch (err) {
      throw new UserFunctionError(`failed to loadstring: ${messageOf(err)}`);
    }
    let result: unknown;
    context[CHUNK_SLOT] = chunk;
    try {
      result = RUN_CHUNK.runInContext(context, { timeout: CHUNK_TIMEOUT_MS });
    } catch (err) {
      throw new UserFunctionError(`pcall error: ${messageOf(err)}`);
    } finally {
      delete context[CHUNK_SLOT];
    }
    if (typeof result !== 'function') {
      throw new UserFunctionError(`only accept JavaScript function, the input code type is ${describeType(result)}`);
    }
    return result as UserFunction;
  }

  return {
    mode: 'vm',
    compile(source, label = PRE_FUNCTION) {
      const state: CallState = { route: undefined };
      return instrument(evaluate(source, label, state), state, hooks, label);
    },
    check(source) {
      try {
        evaluate(source, { function: 'validation' }, { route: undefined });
        return undefined;
      } catch (err) {
        return messageOf(err);
      }
    },
  };
}

let current: UserFunctionSandbox | undefined;

/**
 * Install the process's sandbox (done once at start from `fngate.serverless`,
 * src/plugins/serverless/settings.ts).
 *
 * @example
 *   useUserFunctionSandbox(createVmSandbox({ allowedModules: ['node:crypto'], logger }));
 */
export function useUserFunctionSandbox(sandbox: UserFunctionSandbox): void {
  current = sandbox;
}

/** The process's sandbox: the default `vm` one until another is installed. */
export function userFunctionSandbox(): UserFunctionSandbox {
  return (current ??= createVmSandbox());
}

/**
 * Compile and run the chunk once; return the function it returns.
 *
 * @example
 *   const fn = compileUserFunction('let n = 0; return (conf, ctx) => ++n');
 *   fn({}, {}); // 1
 *   fn({}, {}); // 2
 * @throws UserFunctionError with APISIX's message structure.
 */
export function compileUserFunction(source: string, label: FunctionLabel = PRE_FUNCTION): UserFunction {
  return userFunctionSandbox().compile(source, label);
}

/**
 * Validate a chunk as {@link compileUserFunction} would, without keeping anything.
 *
 * @example
 *   checkUserFunction('return ('); // 'failed to loadstring: Unexpected end of input'
 */
export function checkUserFunction(source: string): string | undefined {
  return userFunctionSandbox().check(source);
}
