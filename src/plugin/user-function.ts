/**
 * User-supplied JavaScript that must return a function: `_meta.pre_function`
 * now, the serverless plugins' `functions` next (spec/serverless.md §2.5).
 *
 * The source is the *body* of a chunk: `return function (conf, ctx) {...}`.
 * The chunk runs once per configuration, so variables it declares persist
 * across requests (closures) until that configuration changes. Each function
 * gets its own `node:vm` context: no `require`, no `process`, no file or
 * network access. That is isolation of globals, not a security boundary (a
 * determined script can reach the host realm through objects it is handed);
 * docs/plugins/serverless.md states what each sandbox mode protects.
 *
 * Errors carry APISIX's three message prefixes (`failed to loadstring:`,
 * `pcall error:`, `only accept JavaScript function, the input code type is`)
 * because users script against that structure.
 */
import vm from 'node:vm';
import { FngateError } from '../errors.js';

export type UserFunction = (conf: unknown, ctx: unknown) => unknown;

export class UserFunctionError extends FngateError {
  readonly code = 'USER_FUNCTION_INVALID';
}

/** Host objects available as globals inside every user function's context. */
function sandboxGlobals(): Record<string, unknown> {
  const log = {
    // Functions should log through ctx.log (request-bound); this is the fallback the APISIX examples use.
    error: (...args: unknown[]) => console.error('[user function]', ...args),
    warn: (...args: unknown[]) => console.warn('[user function]', ...args),
    info: (...args: unknown[]) => console.info('[user function]', ...args),
    debug: () => undefined,
  };
  return {
    log,
    console: { log: log.info, info: log.info, warn: log.warn, error: log.error, debug: log.debug },
    Buffer,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    structuredClone,
    atob,
    btoa,
  };
}

/** Errors thrown inside a vm context come from another realm: `instanceof Error` is false for them. */
export function messageOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

/** `typeof` in the words APISIX users read: `undefined` stands for Lua's nil. */
function describeType(value: unknown): string {
  if (value === null) return 'null';
  return typeof value;
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
export function compileUserFunction(source: string, filename = 'user-function.js'): UserFunction {
  let script: vm.Script;
  try {
    // The wrapper makes the source a function body, so `return` is legal.
    script = new vm.Script(`(function () {\n${source}\n})`, { filename, lineOffset: -1 });
  } catch (err) {
    throw new UserFunctionError(`failed to loadstring: ${messageOf(err)}`);
  }
  const context = vm.createContext(sandboxGlobals(), { codeGeneration: { strings: false, wasm: false } });
  let result: unknown;
  try {
    const chunk = script.runInContext(context) as () => unknown;
    result = chunk();
  } catch (err) {
    throw new UserFunctionError(`pcall error: ${messageOf(err)}`);
  }
  if (typeof result !== 'function') {
    throw new UserFunctionError(`only accept JavaScript function, the input code type is ${describeType(result)}`);
  }
  return result as UserFunction;
}
