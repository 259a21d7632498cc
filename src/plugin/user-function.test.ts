/**
 * The user-function compiler and its default `vm` sandbox: APISIX's three
 * validation messages, closures, what the sandbox offers and withholds,
 * allowed modules, the chunk time bound, log tagging and call hooks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  CHUNK_TIMEOUT_MS,
  checkUserFunction,
  compileUserFunction,
  createVmSandbox,
  type CallHooks,
  type FunctionLabel,
} from './user-function.js';

/** A pino logger writing JSON lines into an array. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** An array made in a function's realm, as a host array (deepEqual compares prototypes). */
function fromRealm(value: unknown): unknown[] {
  return [...(value as unknown[])];
}

describe('user functions: validation messages (spec/serverless.md §2.2, §2.5)', () => {
  test('a chunk that does not compile: failed to loadstring', () => {
    assert.equal(checkUserFunction('return ('), 'failed to loadstring: Unexpected end of input');
    assert.match(checkUserFunction('local a = 1') ?? '', /^failed to loadstring: /);
  });

  test('a chunk that throws: pcall error', () => {
    assert.equal(checkUserFunction('throw new Error("boom")'), 'pcall error: boom');
    assert.equal(checkUserFunction('undefinedThing.x = 1'), 'pcall error: undefinedThing is not defined');
  });

  test('a chunk that returns no function: only accept JavaScript function, with the typeof', () => {
    assert.equal(checkUserFunction('let a = 123;'), 'only accept JavaScript function, the input code type is undefined');
    assert.equal(checkUserFunction('return 1'), 'only accept JavaScript function, the input code type is number');
    assert.equal(checkUserFunction('return "f"'), 'only accept JavaScript function, the input code type is string');
    assert.equal(checkUserFunction('return null'), 'only accept JavaScript function, the input code type is null');
  });

  test('the source is a function body: it cannot close the wrapper and run code outside it', () => {
    assert.match(checkUserFunction('}); (function () {') ?? '', /^failed to loadstring: /);
  });

  test('sync, async and arrow functions are accepted', () => {
    for (const source of [
      'return function (conf, ctx) {}',
      'return (conf, ctx) => 1',
      'return async (conf, ctx) => [403, "forbidden"]',
      'let count = 1; return function () { count++ }',
    ]) assert.equal(checkUserFunction(source), undefined, source);
  });

  test('top-level code that never ends is cut off, so a write cannot hang the Admin API', () => {
    const started = Date.now();
    assert.equal(checkUserFunction('for (;;) {}'), `pcall error: Script execution timed out after ${CHUNK_TIMEOUT_MS}ms`);
    assert.ok(Date.now() - started < CHUNK_TIMEOUT_MS * 5);
  });
});

describe('user functions: calls', () => {
  test('the chunk runs once; its variables persist across calls (closures)', () => {
    const fn = compileUserFunction('let count = 1; return function (conf, ctx) { count++; return count }');
    assert.equal(fn({}, {}), 2);
    assert.equal(fn({}, {}), 3);
    // A second compilation is a fresh chunk: its own state.
    assert.equal(compileUserFunction('let count = 1; return () => ++count')({}, {}), 2);
  });

  test('conf and ctx are passed through unchanged; async functions return promises', async () => {
    const conf = { phase: 'access' };
    const ctx = { var: { uri: '/hello' } };
    const fn = compileUserFunction('return (conf, ctx) => [conf, ctx, ctx.var.uri]');
    const [c, x, uri] = fn(conf, ctx) as [unknown, unknown, string];
    assert.equal(c, conf);
    assert.equal(x, ctx);
    assert.equal(uri, '/hello');
    const later = compileUserFunction('return async (conf) => { await null; return conf.phase }')(conf, ctx);
    assert.equal(typeof (later as Promise<unknown>).then, 'function');
    assert.equal(await later, 'access');
  });

  test('stack traces name the function where it is configured', () => {
    const fn = compileUserFunction('return function () {\n  throw new Error("nope");\n}', { plugin: 'serverless-pre-function', function: 'functions[1]' });
    assert.throws(() => fn({}, {}), (err: Error) => err.message === 'nope' && /serverless-pre-function\/functions\[1\]:2/.test(err.stack ?? ''));
  });
});

describe('user functions: the vm sandbox', () => {
  test('each function has its own globals', () => {
    const a = compileUserFunction('globalThis.shared = "a"; return () => globalThis.shared');
    const b = compileUserFunction('return () => typeof globalThis.shared');
    assert.equal(a({}, {}), 'a');
    assert.equal(b({}, {}), 'undefined');
    assert.equal((globalThis as Record<string, unknown>).shared, undefined);
  });

  test('no require, process, fetch, timers or code generation from strings', () => {
    const probe = compileUserFunction(`return () => [
      typeof require, typeof process, typeof fetch, typeof setTimeout, typeof setInterval,
      (() => { try { return eval('1') } catch (e) { return e.name } })(),
      (() => { try { return new Function('return 1')() } catch (e) { return e.name } })(),
    ]`);
    assert.deepEqual(fromRealm(probe({}, {})), ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'EvalError', 'EvalError']);
  });

  test('the host helpers: Buffer, URL, URLSearchParams, TextEncoder/Decoder, structuredClone, atob/btoa', () => {
    const fn = compileUserFunction(`return () => [
      Buffer.from('hi').toString('base64'), new URL('/a?b=1', 'http://x').searchParams.get('b'),
      new URLSearchParams('args=%40%23').get('args'), new TextDecoder().decode(new TextEncoder().encode('é')),
      structuredClone({ a: [1] }).a[0], atob(btoa('ok')),
    ]`);
    assert.deepEqual(fromRealm(fn({}, {})), ['aGk=', '1', '@#', 'é', 1, 'ok']);
  });

  test('allowed_modules: require() loads exactly the listed names', () => {
    const sandbox = createVmSandbox({ allowedModules: ['node:crypto', 'node:querystring'] });
    const fn = sandbox.compile('const { createHash } = require("node:crypto"); return () => createHash("sha1").update("a").digest("hex")');
    assert.equal(fn({}, {}), '86f7e437faa5a7fce15d1ddcb9eaeaea377667b8');
    assert.equal(sandbox.check('require("node:querystring"); return () => 1'), undefined);
    assert.match(sandbox.check('require("node:fs"); return () => 1') ?? '', /^pcall error: require\("node:fs"\) is not allowed/);
    assert.match(sandbox.check('require("crypto"); return () => 1') ?? '', /is not allowed/, 'names are matched exactly');
  });

  test('the ecmascript globals mode mirrors an isolate: only the language, log and console', () => {
    const sandbox = createVmSandbox({ globals: 'ecmascript', allowedModules: ['node:crypto'] });
    const fn = sandbox.compile('return () => [typeof Buffer, typeof URL, typeof require, typeof log.error, typeof console.log, typeof JSON]');
    assert.deepEqual(fromRealm(fn({}, {})), ['undefined', 'undefined', 'undefined', 'function', 'function', 'object']);
  });

  test('log and console write gateway log lines tagged with plugin, function and the route of the call', () => {
    const { logger, lines } = capturingLogger();
    const sandbox = createVmSandbox({ logger });
    const fn = sandbox.compile('return (conf, ctx) => { log.error("count:", 2); console.log({ a: 1 }); log.debug("d") }', { plugin: 'serverless-post-function', function: 'functions[0]' });
    fn({}, { route_id: 'r1' });
    assert.deepEqual(lines.map((l) => [l.level, l.msg, l.plugin, l.function, l.route]), [
      [50, 'count: 2', 'serverless-post-function', 'functions[0]', 'r1'],
      [30, '{ a: 1 }', 'serverless-post-function', 'functions[0]', 'r1'],
      [20, 'd', 'serverless-post-function', 'functions[0]', 'r1'],
    ]);
  });
});

describe('user functions: call hooks (the watchdog marks)', () => {
  function recordingHooks() {
    const events: string[] = [];
    const labels: FunctionLabel[] = [];
    const hooks: CallHooks = {
      register(label) {
        labels.push(label);
        return labels.length;
      },
      enter: (id, route) => events.push(`enter ${id} ${route}`),
      leave: (id) => events.push(`leave ${id}`),
    };
    return { hooks, events, labels };
  }

  test('registered once per compilation; enter and leave around every call, also when it throws', () => {
    const { hooks, events, labels } = recordingHooks();
    const sandbox = createVmSandbox({ hooks });
    const ok = sandbox.compile('return () => 1', { plugin: 'p', function: 'functions[0]' });
    const bad = sandbox.compile('return () => { throw new Error("x") }', { plugin: 'p', function: 'functions[1]' });
    assert.deepEqual(labels, [{ plugin: 'p', function: 'functions[0]' }, { plugin: 'p', function: 'functions[1]' }]);
    ok({}, { route_id: '7' });
    assert.throws(() => bad({}, { route_id: '8' }));
    assert.deepEqual(events, ['enter 1 7', 'leave 1', 'enter 2 8', 'leave 2']);
  });

  test('validation registers nothing (no watchdog entry for a function that will never run)', () => {
    const { hooks, labels } = recordingHooks();
    assert.equal(createVmSandbox({ hooks }).check('return () => 1'), undefined);
    assert.deepEqual(labels, []);
  });
});
