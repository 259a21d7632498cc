/**
 * The isolate side of the `isolated` sandbox: the code that runs inside each
 * isolated-vm isolate before the user's chunk, and the protocol it speaks
 * with the host (src/plugins/serverless/isolated-sandbox.ts).
 *
 * Nothing is shared by reference across the boundary. The user function
 * gets a `ctx` built inside the isolate whose every read and write is a
 * synchronous call of one host callback, `host(op, handle, a, b)`, with the
 * arguments and the result copied (structured-clone rules). `handle` names
 * the request the call belongs to; the host maps it to the real `ctx` for as
 * long as the call runs. The callback lives only in this code's closure, so
 * user code cannot call it with a handle of its own choosing.
 *
 * Return values leave the isolate as JSON values (a verdict is a number or
 * `[status, body, headers]`), so what cannot be expressed in JSON (functions,
 * cycles) fails the call instead of leaking references.
 *
 * Promises: the isolate never runs on its own. When a function awaits a host
 * operation (`ctx.request.body()`), the host settles it later with another
 * bounded call (`settle`), and collects finished async calls with `take`.
 */

/** Ops of the host callback; the isolate-side code below spells the same strings. */
export type HostOp =
  | 'log'
  | 'get' | 'set' | 'pluginMetadata'
  | 'var' | 'var='
  | 'request.method' | 'request.header' | 'request.headers' | 'request.setHeader' | 'request.setMethod' | 'request.body' | 'request.setBody'
  | 'response.status' | 'response.status=' | 'response.header' | 'response.headers' | 'response.setHeader'
  | 'response.chunk' | 'response.chunk=' | 'response.eof' | 'response.holdBody';

/** What `call` returns: the JSON value the function returned, or that it returned a promise. */
export type CallOutcome = { readonly value: unknown } | { readonly pending: true };

/** What `take` returns per finished async call: handle, success, JSON value or `{message, stack}`. */
export type Settled = readonly [handle: number, ok: boolean, value: unknown];

/**
 * Run with `context.evalClosureSync(BRIDGE_SOURCE, [hostCallback])`; returns
 * `{install, setConf, call, settle, take}`. Installs `log` and `console` as
 * globals. Captures the built-ins it relies on before user code can replace them.
 */
export const BRIDGE_SOURCE = String.raw`
'use strict';
const host = $0;
const hasOwn = Object.hasOwn;
const stringify = JSON.stringify;
const parse = JSON.parse;
const PromiseCtor = Promise;
const ProxyCtor = Proxy;
const TypeErrorCtor = TypeError;
const ErrorCtor = Error;
let user;
let conf;
const settled = [];
const waiting = new Map();

function text(value) {
  if (typeof value === 'string') return value;
  if (value instanceof ErrorCtor) return value.stack || String(value);
  if (typeof value === 'object' && value !== null) {
    try { return stringify(value); } catch { return String(value); }
  }
  return String(value);
}

function makeLog(h) {
  const emit = (level) => (...args) => { host('log', h, level, args.map(text).join(' ')); };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
}

const globalLog = makeLog(0);
globalThis.log = globalLog;
globalThis.console = { log: globalLog.info, info: globalLog.info, warn: globalLog.warn, error: globalLog.error, debug: globalLog.debug, trace: globalLog.debug };

function awaitHost(op, h) {
  const id = host(op, h);
  return new PromiseCtor((resolve, reject) => { waiting.set(id, { resolve, reject }); });
}

function makeCtx(h) {
  const vars = new ProxyCtor({}, {
    get: (_, name) => (typeof name === 'string' ? host('var', h, name) : undefined),
    set: (_, name, value) => { host('var=', h, String(name), value); return true; },
    has: (_, name) => typeof name === 'string' && host('var', h, name) !== undefined,
  });
  const request = {
    get method() { return host('request.method', h); },
    header: (name) => host('request.header', h, name),
    headers: () => host('request.headers', h),
    setHeader: (name, value) => { host('request.setHeader', h, name, value); },
    setMethod: (method) => { host('request.setMethod', h, method); },
    body: () => awaitHost('request.body', h),
    setBody: (body) => { host('request.setBody', h, body); },
  };
  const response = {
    get status() { return host('response.status', h); },
    set status(value) { host('response.status=', h, value); },
    header: (name) => host('response.header', h, name),
    headers: () => host('response.headers', h),
    setHeader: (name, value) => { host('response.setHeader', h, name, value); },
    get chunk() { return host('response.chunk', h); },
    set chunk(value) { host('response.chunk=', h, value); },
    get eof() { return host('response.eof', h); },
    holdBody: () => host('response.holdBody', h),
  };
  const api = { var: vars, request, response, log: makeLog(h), pluginMetadata: (name) => host('pluginMetadata', h, name) };
  return new ProxyCtor(api, {
    get: (target, name) => (typeof name !== 'string' ? undefined : hasOwn(target, name) ? target[name] : host('get', h, name)),
    set: (target, name, value) => {
      if (typeof name !== 'string' || hasOwn(target, name)) throw new TypeErrorCtor('ctx.' + String(name) + ' cannot be assigned');
      host('set', h, name, value);
      return true;
    },
    has: (target, name) => typeof name === 'string' && (hasOwn(target, name) || host('get', h, name) !== undefined),
    deleteProperty: (target, name) => {
      if (typeof name !== 'string' || hasOwn(target, name)) return false;
      host('set', h, name, undefined);
      return true;
    },
  });
}

function json(value) {
  return value === undefined || value === null || typeof value !== 'object' ? value : parse(stringify(value));
}

function failure(err) {
  if (err instanceof ErrorCtor) return { message: String(err.message), stack: String(err.stack) };
  return { message: text(err) };
}

return {
  install(fn) { user = fn; },
  setConf(value) { conf = value; },
  call(h) {
    const result = user(conf, makeCtx(h));
    if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
      PromiseCtor.resolve(result).then(
        (value) => { try { settled.push([h, true, json(value)]); } catch (err) { settled.push([h, false, failure(err)]); } },
        (err) => { settled.push([h, false, failure(err)]); },
      );
      return { pending: true };
    }
    return { value: json(result) };
  },
  settle(id, ok, value) {
    const pending = waiting.get(id);
    if (pending === undefined) return;
    waiting.delete(id);
    if (ok) pending.resolve(value);
    else pending.reject(new ErrorCtor(value));
  },
  take() { return settled.splice(0, settled.length); },
};
`;
