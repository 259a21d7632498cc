/**
 * The serverless plugins' behaviour on real request contexts (the shared
 * factory, through serverless-pre-function): validation with APISIX's
 * messages, phases, verdicts, order, errors naming the function, async
 * functions, closures per configuration object, and the multi-phase form.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness, pendingResponseHeaders, upstreamView } from '../../test/helpers/plugin-harness.js';
import type { JsonObject } from '../resources/types.js';
import serverlessPreFunction from './serverless-pre-function.js';
import { ServerlessFunctionError } from './serverless/errors.js';

const h = new PluginHarness(serverlessPreFunction);

/**
 * A value made inside a function's vm context, as plain host data: its
 * arrays and objects have that realm's prototypes, which deepEqual compares.
 */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** A function body that appends `name` to `ctx.order` (then returns `ret`, if given). */
function mark(name: string, ret = ''): string {
  return `return function (conf, ctx) { (ctx.order ??= []).push(${JSON.stringify(name)}); ${ret ? `return ${ret};` : ''} }`;
}

describe('serverless plugins: validation (spec/serverless.md §2.2)', () => {
  test('schema messages: unknown phase, empty functions, neither functions nor phases', () => {
    assert.equal(h.check({ phase: 'abc', functions: [mark('a')] }), 'failed to check the configuration of plugin serverless-pre-function err: property "phase" validation failed: matches none of the enum values');
    assert.equal(h.check({ functions: [] }), 'failed to check the configuration of plugin serverless-pre-function err: property "functions" validation failed: expect array to have at least 1 items');
    assert.equal(h.check({ phase: 'access' }), 'failed to check the configuration of plugin serverless-pre-function err: property "functions" is required');
  });

  test('each function is compiled and run once: loadstring, pcall and type messages', () => {
    assert.match(h.check({ functions: [mark('a'), 'return ('] }) ?? '', /err: failed to loadstring: Unexpected end of input$/);
    assert.match(h.check({ functions: ['throw new Error("top")'] }) ?? '', /err: pcall error: top$/);
    assert.match(h.check({ functions: ['let a = 123;'] }) ?? '', /err: only accept JavaScript function, the input code type is undefined$/);
  });

  test('the default phase is access, and every APISIX phase is accepted', () => {
    const conf = h.conf({ functions: [mark('a')] });
    assert.equal(conf.phase, 'access');
    for (const phase of ['rewrite', 'access', 'before_proxy', 'header_filter', 'body_filter', 'log']) {
      assert.equal(h.check({ phase, functions: [mark('a')] }), undefined, phase);
    }
  });

  test('phases: functions per phase, alone or beside phase + functions; lists are never empty', () => {
    assert.equal(h.check({ phases: { header_filter: [mark('h')], body_filter: [mark('b')] } }), undefined);
    assert.equal(h.check({ functions: [mark('a')], phases: { log: [mark('l')] } }), undefined);
    assert.match(h.check({ phases: { header_filter: [] } }) ?? '', /property "phases" validation failed: property "header_filter" validation failed: expect array to have at least 1 items/);
    assert.match(h.check({ phases: { abc: [mark('a')] } }) ?? '', /property "phases" validation failed: /);
    assert.match(h.check({ phases: {} }) ?? '', /property "phases" validation failed: /);
    assert.match(h.check({ phases: { log: ['return 1'] } }) ?? '', /err: only accept JavaScript function, the input code type is number$/);
  });
});

describe('serverless plugins: calls (spec/serverless.md §2.3, §2.5)', () => {
  async function run(conf: JsonObject, phase: Parameters<PluginHarness['run']>[0] = 'access', target = '/hello') {
    const ctx = h.request(target);
    const verdict = await h.run(phase, conf, ctx);
    return { verdict: plain(verdict), ctx, order: plain(ctx.order) as string[] | undefined };
  }

  test('functions see the configuration with defaults and the request context', async () => {
    const conf = h.conf({ functions: ['return (conf, ctx) => [200, { phase: conf.phase, uri: ctx.var.uri, path: ctx.var.request_uri }]'] });
    const { verdict } = await run(conf, 'access', '/hello?a=1');
    assert.deepEqual(verdict, [200, { phase: 'access', uri: '/hello', path: '/hello?a=1' }]);
  });

  test('only the configured phase runs the functions', async () => {
    const conf = h.conf({ phase: 'rewrite', functions: [mark('r')] });
    assert.equal((await run(conf, 'access')).order, undefined);
    assert.deepEqual((await run(conf, 'rewrite')).order, ['r']);
  });

  test('functions run in order; the first verdict ends the phase and the rest never run', async () => {
    const conf = h.conf({ phase: 'rewrite', functions: [mark('one'), mark('two', '[403, "forbidden"]'), mark('three')] });
    const { verdict, order } = await run(conf, 'rewrite');
    assert.deepEqual(verdict, [403, 'forbidden']);
    assert.deepEqual(order, ['one', 'two']);
  });

  test('verdicts: a status, [status, body], [status, body, headers]; undefined, null and false continue', async () => {
    assert.equal((await run(h.conf({ functions: [mark('a', '201')] }))).verdict, 201);
    assert.deepEqual((await run(h.conf({ functions: [mark('a', '[200, { ok: true }]')] }))).verdict, [200, { ok: true }]);
    assert.deepEqual((await run(h.conf({ functions: [mark('a', '[301, "", { location: "/x" }]')] }))).verdict, [301, '', { location: '/x' }]);
    const through = await run(h.conf({ functions: [mark('a', 'null'), mark('b', 'false'), mark('c', 'undefined'), mark('d')] }));
    assert.equal(through.verdict, undefined);
    assert.deepEqual(through.order, ['a', 'b', 'c', 'd']);
  });

  test('anything else is an error naming the function', async () => {
    const conf = h.conf({ functions: [mark('a'), 'return () => "403"'] });
    await assert.rejects(run(conf), (err: ServerlessFunctionError) =>
      err instanceof ServerlessFunctionError && err.message === 'functions[1] returned string; expected nothing, a status (100-599) or [status, body, headers]');
    await assert.rejects(run(h.conf({ functions: ['return () => 1000'] })), /functions\[0\] returned 1000;/);
    await assert.rejects(run(h.conf({ functions: ['return () => ["x", "y"]'] })), /functions\[0\] returned \[string, \.\.\.\];/);
  });

  test('a throw names the function and keeps the user stack; the next functions do not run', async () => {
    const conf = h.conf({ functions: [mark('a'), 'return function () {\n  throw new TypeError("boom");\n}', mark('c')] });
    const ctx = h.request('/');
    await assert.rejects(h.run('access', conf, ctx), (err: ServerlessFunctionError) => {
      assert.equal(err.code, 'SERVERLESS_FUNCTION_FAILED');
      assert.equal(err.message, 'functions[1] threw: boom');
      assert.match(err.stack ?? '', /^TypeError: boom\n.*serverless-pre-function\/functions\[1\]:2/);
      return true;
    });
    assert.deepEqual(plain(ctx.order), ['a']);
  });

  test('async functions are awaited, in order, before the next one; rejections name the function', async () => {
    const conf = h.conf({ functions: [
      'return async (conf, ctx) => { await null; (ctx.order ??= []).push("async") }',
      mark('sync'),
      'return async (conf, ctx) => [418, ctx.order.join(",")]',
    ] });
    assert.deepEqual((await run(conf)).verdict, [418, 'async,sync']);
    await assert.rejects(run(h.conf({ functions: ['return async () => { await null; throw new Error("late") }'] })), /functions\[0\] threw: late/);
  });

  test('in response phases a returned value only stops the remaining functions', async () => {
    const conf = h.conf({ phase: 'log', functions: [mark('a', '500'), mark('b')] });
    const { verdict, order } = await run(conf, 'log');
    assert.equal(verdict, undefined);
    assert.deepEqual(order, ['a']);
  });

  test('request changes reach what is proxied: upstream_uri, headers', async () => {
    const conf = h.conf({ functions: ['return (conf, ctx) => { ctx.var.upstream_uri = "/server_port"; ctx.request.setHeader("x-fn", "1"); ctx.response.setHeader("x-resp", "2") }'] });
    const { ctx } = await run(conf);
    const view = upstreamView(ctx);
    assert.equal(view.uri, '/server_port');
    assert.equal(view.headers['x-fn'], '1');
    assert.equal(pendingResponseHeaders(ctx)['x-resp'], '2');
  });

  test('the raw query string stays encoded in ctx.var.args (spec §2.6 #14)', async () => {
    const conf = h.conf({ functions: ['return (conf, ctx) => [200, [ctx.var.args, new URLSearchParams(ctx.var.args).get("args")]]'] });
    const { verdict } = await run(conf, 'access', '/echo?args=%40%23%24%25%5E%26');
    assert.deepEqual(verdict, [200, ['args=%40%23%24%25%5E%26', '@#$%^&']]);
  });
});

describe('serverless plugins: closures and their lifetime (spec/serverless.md §2.4)', () => {
  const counter = 'let count = 1; return function (conf, ctx) { count++; return [200, String(count)] }';

  test('state persists across requests of one configuration object, and starts over with a new one', async () => {
    const conf = h.conf({ functions: [counter] });
    assert.deepEqual(plain(await h.run('access', conf, h.request('/'))), [200, '2']);
    assert.deepEqual(plain(await h.run('access', conf, h.request('/'))), [200, '3']);
    // A new version of the route is a new configuration object, even with the same content.
    const updated = h.conf({ functions: [counter] });
    assert.deepEqual(plain(await h.run('access', updated, h.request('/'))), [200, '2']);
    assert.deepEqual(plain(await h.run('access', conf, h.request('/'))), [200, '4'], 'the old object keeps its own closures');
  });

  test('a configuration that no longer compiles fails each time, naming the function', async () => {
    // Bypasses check() on purpose: only a chunk whose top level behaves differently at runtime gets here.
    const conf = { phase: 'access', functions: [mark('a'), 'throw new Error("not today")'] };
    await assert.rejects(h.run('access', conf, h.request('/')), /functions\[1\] could not be compiled: pcall error: not today/);
    await assert.rejects(h.run('access', conf, h.request('/')), /functions\[1\] could not be compiled/);
  });
});

describe('serverless plugins: the multi-phase form', () => {
  test('header_filter and body_filter of one instance edit a JSON body (the documented pattern)', async () => {
    const conf = h.conf({ phases: {
      header_filter: ['return (conf, ctx) => { ctx.response.setHeader("content-length", null); ctx.response.setHeader("x-edited", "yes") }'],
      body_filter: ['return (conf, ctx) => { const body = ctx.response.holdBody(); if (body === undefined) return; const json = JSON.parse(body); delete json.secret; ctx.response.chunk = JSON.stringify(json) }'],
    } });
    const ctx = h.request('/');
    const out = await h.respond(conf, ctx, 200, { 'content-type': 'application/json', 'content-length': '31' }, ['{"a":1,', '"secret":"x",', '"b":2}']);
    assert.equal(out.body.toString(), '{"a":1,"b":2}');
    assert.equal(out.headers['content-length'], undefined);
    assert.equal(out.headers['x-edited'], 'yes');
  });

  test('phase + functions run before phases[phase] in the same phase, as one list', async () => {
    const conf = h.conf({ phase: 'rewrite', functions: [mark('classic')], phases: { rewrite: [mark('listed', '[200, ctx.order.join(",")]')], access: [mark('access')] } });
    const ctx = h.request('/');
    assert.deepEqual(plain(await h.run('rewrite', conf, ctx)), [200, 'classic,listed']);
    assert.equal(await h.run('access', conf, ctx), undefined);
    assert.deepEqual(plain(ctx.order), ['classic', 'listed', 'access']);
  });

  test('errors in the multi-phase form name the phase list', async () => {
    const conf = h.conf({ phases: { log: [mark('a'), 'return () => { throw new Error("x") }'] } });
    await assert.rejects(h.run('log', conf, h.request('/')), (err: Error) => err.message === 'phases.log[1] threw: x');
  });
});
