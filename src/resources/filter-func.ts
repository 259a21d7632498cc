/**
 * Route `filter_func` (spec/routing.md §1, §3.2): the last condition the
 * router checks before the path regex. APISIX takes Lua source; fngate takes
 * JavaScript of the same shape, `function (vars) { return ... }`, where
 * `vars.arg_name`, `vars.http_x_user`, ... read request variables like
 * APISIX's `ngx.var` table (spec/plugins.md §6.3).
 *
 * Functions are compiled once per route version into one shared `node:vm`
 * context with no globals and no string-to-code generation. This keeps
 * admin-written code away from fngate's module scope, but it is **not** a
 * security boundary (values passed in are host objects, and there is no
 * per-call time limit): filter functions have the same trust as APISIX's Lua
 * ones, which run unsandboxed.
 */
import vm from 'node:vm';
import { FngateError } from '../errors.js';
import type { VarGetter } from '../router/types.js';

/** The source does not compile, or does not evaluate to a function; the message is APISIX's. */
export class FilterFuncError extends FngateError {
  readonly code = 'FILTER_FUNC_INVALID';
}

/** A compiled filter: true when the route may match. Errors thrown by user code propagate. */
export type FilterFunc = (vars: VarGetter) => boolean;

/** Compiling the function expression itself must not hang a write or a load. */
const EVALUATION_TIMEOUT_MS = 100;

let sandbox: vm.Context | undefined;

function context(): vm.Context {
  sandbox ??= vm.createContext(Object.create(null) as object, {
    name: 'fngate filter_func',
    codeGeneration: { strings: false, wasm: false },
  });
  return sandbox;
}

/** Errors raised inside the context are not `instanceof Error` of this realm. */
function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}

/**
 * Compile a `filter_func` source. Throws {@link FilterFuncError} with
 * `failed to load 'filter_func' string: <err>` or
 * `'filter_func' should be a function`.
 *
 * The returned filter passes a `vars` view whose property reads call the
 * request's variable getter; the view is reused across calls (no allocation
 * per request), so it is valid only during the call.
 *
 * @example
 *   const filter = compileFilterFunc('function (vars) { return vars.arg_k === "v" }');
 *   filter((name) => (name === 'arg_k' ? 'v' : undefined)); // true
 */
export function compileFilterFunc(source: string): FilterFunc {
  let compiled: unknown;
  try {
    const script = new vm.Script(`(${source}\n)`, { filename: 'filter_func' });
    compiled = script.runInContext(context(), { timeout: EVALUATION_TIMEOUT_MS });
  } catch (err) {
    throw new FilterFuncError(`failed to load 'filter_func' string: ${describe(err)}`, { cause: err });
  }
  if (typeof compiled !== 'function') throw new FilterFuncError("'filter_func' should be a function");
  const user = compiled as (vars: unknown) => unknown;

  let current: VarGetter | undefined;
  const vars: unknown = new Proxy(Object.create(null) as object, {
    get: (_target, name) => (typeof name === 'string' && current ? current(name) : undefined),
    has: (_target, name) => typeof name === 'string' && current !== undefined && current(name) !== undefined,
  });
  return (get) => {
    current = get;
    try {
      return Boolean(user(vars));
    } finally {
      current = undefined;
    }
  };
}
