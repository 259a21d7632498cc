/**
 * The one factory behind serverless-pre-function (priority 10000) and
 * serverless-post-function (-2000): same schema and behaviour, different
 * name and priority, and each its own compiled cache (spec/serverless.md §2).
 *
 * Per configuration object, every function is compiled once, on the first
 * request that reaches the plugin — the chunk's top level runs then, and the
 * closures it creates live as long as that configuration object: a new
 * version of the route is a new object and starts over (spec §2.4). The
 * cache is a WeakMap, so replaced configurations are simply collected. Each
 * worker process compiles its own copy.
 *
 * Calls (spec §2.3, §2.5): functions of the current phase run in order with
 * `(conf, ctx)`. Returning nothing (`undefined`, `null`, `false`, as Lua's
 * falsy values) continues; in rewrite/access/before_proxy a number or
 * `[status, body, headers]` ends the request, and in the response phases any
 * value only stops this instance's remaining functions. A throw becomes a
 * {@link ServerlessFunctionError} naming the function; the framework answers
 * 500 (request phases) or logs it (response phases).
 */
import { definePlugin, type PhaseName, type PhaseResult, type PluginDefinition } from '../../pdk/plugin.js';
import type { PluginContext } from '../../pdk/context.js';
import { checkUserFunction, compileUserFunction, describeType, messageOf, type UserFunction } from '../../plugin/user-function.js';
import { SERVERLESS_SCHEMA, functionSources, type ServerlessConf } from './schema.js';
import { ServerlessFunctionError } from './errors.js';
import { timeFunctionCall } from '../prometheus/function-metrics.js';
import { isThenable } from '../../util/maybe-async.js';
import { compiledPerConf } from '../lib/per-conf.js';

interface CompiledFunction {
  readonly fn: UserFunction;
  /** `functions[0]`, `phases.log[1]`. */
  readonly where: string;
}

type FunctionList = readonly CompiledFunction[];

/** A configuration's functions by phase; a phase without functions is undefined (one check per call). */
type CompiledInstance = Readonly<Partial<Record<PhaseName, FunctionList>>>;

/** Lua's falsy values, and JavaScript's "nothing": the next function runs. */
function isNothing(value: unknown): boolean {
  return value === undefined || value === null || value === false;
}

function isStatus(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599;
}

/** A verdict as the framework takes it, or a ServerlessFunctionError naming the function. */
function verdictOf(f: CompiledFunction, value: unknown): unknown {
  if (isStatus(value) || (Array.isArray(value) && isStatus(value[0]))) return value;
  const shown = Array.isArray(value) ? `[${describeType(value[0])}, ...]` : typeof value === 'number' ? String(value) : describeType(value);
  throw new ServerlessFunctionError(f.where, `returned ${shown}; expected nothing, a status (100-599) or [status, body, headers]`);
}

/**
 * Run `list` from `start`. Synchronous until a function returns a promise;
 * request phases return the first verdict, response phases nothing.
 */
function runFrom(list: FunctionList, start: number, conf: ServerlessConf, ctx: PluginContext, request: boolean): unknown {
  for (let i = start; i < list.length; i++) {
    const f = list[i] as CompiledFunction;
    let result: unknown;
    try {
      result = f.fn(conf, ctx);
    } catch (err) {
      throw ServerlessFunctionError.threw(f.where, err);
    }
    if (isThenable(result)) return awaitThenRun(list, i, result, conf, ctx, request);
    if (!isNothing(result)) return request ? verdictOf(f, result) : undefined;
  }
  return undefined;
}

async function awaitThenRun(list: FunctionList, i: number, pending: PromiseLike<unknown>, conf: ServerlessConf, ctx: PluginContext, request: boolean): Promise<unknown> {
  const f = list[i] as CompiledFunction;
  let result: unknown;
  try {
    result = await pending;
  } catch (err) {
    throw ServerlessFunctionError.threw(f.where, err);
  }
  if (!isNothing(result)) return request ? verdictOf(f, result) : undefined;
  return runFrom(list, i + 1, conf, ctx, request);
}

/**
 * Compile every function of `conf`. If one fails (they were checked at write
 * and load, so only a chunk whose top level behaves differently now can), every
 * phase that has functions fails with that error each time it runs: no
 * function runs without its siblings.
 */
function compileInstance(plugin: string, conf: ServerlessConf): CompiledInstance {
  const instance: Partial<Record<PhaseName, CompiledFunction[]>> = {};
  const sources = functionSources(conf);
  for (const { phase, where, source } of sources) {
    let fn: UserFunction;
    try {
      fn = compileUserFunction(source, { plugin, function: where });
    } catch (err) {
      const failure = new ServerlessFunctionError(where, `could not be compiled: ${messageOf(err)}`, err);
      const fail = (): never => { throw failure; };
      return Object.fromEntries(sources.map((s) => [s.phase, [{ fn: fail, where }]]));
    }
    (instance[phase] ??= []).push({ fn, where });
  }
  return instance;
}

/**
 * @example
 *   export default createServerlessPlugin('serverless-pre-function', 10000);
 */
export function createServerlessPlugin(name: string, priority: number): PluginDefinition<ServerlessConf> {
  const instanceOf = compiledPerConf((conf: ServerlessConf) => compileInstance(name, conf));

  function functionsFor(conf: ServerlessConf, phase: PhaseName): FunctionList | undefined {
    return instanceOf(conf)[phase];
  }

  function request(phase: 'rewrite' | 'access' | 'before_proxy') {
    return (conf: ServerlessConf, ctx: PluginContext): PhaseResult => {
      const list = functionsFor(conf, phase);
      // Counted in prometheus' serverless_function_duration_seconds (a no-op without the plugin).
      return list === undefined ? undefined : timeFunctionCall(name, ctx.route_id, () => runFrom(list, 0, conf, ctx, true)) as PhaseResult;
    };
  }

  function response(phase: 'header_filter' | 'body_filter' | 'log') {
    return (conf: ServerlessConf, ctx: PluginContext): void | Promise<void> => {
      const list = functionsFor(conf, phase);
      return list === undefined ? undefined : timeFunctionCall(name, ctx.route_id, () => runFrom(list, 0, conf, ctx, false)) as void | Promise<void>;
    };
  }

  return definePlugin<ServerlessConf>({
    name,
    version: '0.1',
    priority,
    schema: SERVERLESS_SCHEMA,
    check(conf) {
      if (conf.functions === undefined && conf.phases === undefined) return 'property "functions" is required';
      // spec §2.2: compile, run the chunk, expect a function — for every function, first failure wins.
      for (const { source } of functionSources(conf)) {
        const error = checkUserFunction(source);
        if (error !== undefined) return error;
      }
      return undefined;
    },
    // Only the phases with functions: a route whose functions run in access
    // keeps its proxied body off the body_filter path.
    phasesFor: (conf) => [...new Set(functionSources(conf).map((s) => s.phase))],
    rewrite: request('rewrite'),
    access: request('access'),
    before_proxy: request('before_proxy'),
    header_filter: response('header_filter'),
    body_filter: response('body_filter'),
    log: response('log'),
  });
}
