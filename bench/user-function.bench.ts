/**
 * User-function micro-benchmark (src/plugin/user-function.ts,
 * src/plugins/serverless/*): what a call and a compilation cost in each
 * sandbox.
 *
 * - vm: ns per call of a trivial function — the bare vm-context function,
 *   as compiled (instrumented for `log`'s route), with the watchdog's marks,
 *   and through the plugin's phase function (cache lookup, verdict loop);
 *   plus the cost of a phase without functions (every request pays it for
 *   each phase the plugin does not use);
 * - isolated (needs `--no-node-snapshot`): µs per call — trivial, reading
 *   one `ctx.var`, setting a header, an async function;
 * - compilation: ms per function and memory kept per compiled function.
 *
 *   node --no-node-snapshot --import tsx bench/user-function.bench.ts
 */
import vm from 'node:vm';
import { silentLogger } from '../src/log.js';
import { createVmSandbox, useUserFunctionSandbox, type UserFunction, type UserFunctionSandbox } from '../src/plugin/user-function.js';
import { Watchdog } from '../src/plugins/serverless/watchdog.js';
import { NO_NODE_SNAPSHOT, createIsolatedSandbox, loadIsolatedVm } from '../src/plugins/serverless/isolated-sandbox.js';
import serverlessPreFunction from '../src/plugins/serverless-pre-function.js';
import type { PluginContext } from '../src/pdk/context.js';

const TRIVIAL = 'return function (conf, ctx) {}';

/** A ctx with what the measured functions touch. */
function fakeCtx(): PluginContext {
  const headers: Record<string, string> = {};
  return {
    route_id: '1',
    var: { uri: '/hello' },
    response: { setHeader: (name: string, value: string) => { headers[name] = value; } },
  } as unknown as PluginContext;
}

/** ns per call of `fn`, after a warm-up of a quarter of the iterations. */
function nsPerCall(fn: () => unknown, iterations: number): number {
  for (let i = 0; i < iterations / 4; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

async function nsPerAsyncCall(fn: () => unknown, iterations: number): Promise<number> {
  for (let i = 0; i < iterations / 4; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

function row(name: string, value: string): void {
  console.log(`${name.padEnd(58)} ${value.padStart(14)}`);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Compile `count` functions; ms per function and heap/RSS growth per function while they are kept. */
function compileCost(sandbox: UserFunctionSandbox, count: number): { ms: number; heapKb: number; rssKb: number } {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const kept: UserFunction[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) kept.push(sandbox.compile(`let n = ${i}; ${TRIVIAL}`, { plugin: 'bench', function: `functions[${i}]` }));
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / count;
  gc();
  const used = process.memoryUsage();
  const result = { ms, heapKb: (used.heapUsed - heap0) / 1024 / count, rssKb: (used.rss - rss0) / 1024 / count };
  if (kept.length !== count) throw new Error('unreachable');
  return result;
}

async function main(): Promise<void> {
  console.log(`user functions, node ${process.version}${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for steadier memory figures)'}\n`);
  const conf = { phase: 'rewrite', functions: [TRIVIAL] };
  const ctx = fakeCtx();
  const N = 5_000_000;

  console.log('vm sandbox: one call of a trivial function');
  const context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
  const bare = vm.runInContext(`(function () { ${TRIVIAL} })()`, context) as UserFunction;
  const plain = (_conf: unknown, _ctx: unknown): void => undefined;
  row('a plain host function (reference)', `${nsPerCall(() => plain(conf, ctx), N).toFixed(1)} ns`);
  row('the bare vm-context function', `${nsPerCall(() => bare(conf, ctx), N).toFixed(1)} ns`);
  const compiled = createVmSandbox({ logger: silentLogger }).compile(TRIVIAL);
  row('compiled (route recorded for log)', `${nsPerCall(() => compiled(conf, ctx), N).toFixed(1)} ns`);
  const watchdog = new Watchdog({ stallMs: 5_000, fd: 2 });
  const watched = createVmSandbox({ logger: silentLogger, hooks: watchdog }).compile(TRIVIAL);
  row('compiled with the watchdog marks', `${nsPerCall(() => watched(conf, ctx), N).toFixed(1)} ns`);
  useUserFunctionSandbox(createVmSandbox({ logger: silentLogger, hooks: watchdog }));
  const rewrite = serverlessPreFunction.rewrite as (conf: unknown, ctx: unknown) => unknown;
  const access = serverlessPreFunction.access as (conf: unknown, ctx: unknown) => unknown;
  row('serverless-pre-function rewrite phase (1 function)', `${nsPerCall(() => rewrite(conf, ctx), N).toFixed(1)} ns`);
  row('serverless-pre-function, a phase without functions', `${nsPerCall(() => access(conf, ctx), N).toFixed(1)} ns`);

  console.log('\ncompilation (per function, kept alive)');
  const vmCost = compileCost(createVmSandbox({ logger: silentLogger }), 200);
  row('vm: time', `${vmCost.ms.toFixed(2)} ms`);
  row('vm: heap / RSS kept', `${vmCost.heapKb.toFixed(0)} / ${vmCost.rssKb.toFixed(0)} KB`);

  if (!process.execArgv.includes(NO_NODE_SNAPSHOT)) {
    console.log(`\nisolated sandbox: skipped (run node with ${NO_NODE_SNAPSHOT})`);
  } else {
    const ivm = await loadIsolatedVm();
    const isolated = createIsolatedSandbox({ ivm, timeoutMs: 100, memoryMb: 32, logger: silentLogger });
    const M = 20_000;
    console.log('\nisolated sandbox: one call (copied ctx view, 100 ms limit per entry)');
    const trivial = isolated.compile(TRIVIAL);
    row('trivial function', `${(nsPerCall(() => trivial(conf, ctx), M) / 1000).toFixed(2)} µs`);
    const readVar = isolated.compile('return (conf, ctx) => { ctx.var.uri }');
    row('reading ctx.var.uri (one host call)', `${(nsPerCall(() => readVar(conf, ctx), M) / 1000).toFixed(2)} µs`);
    const setHeader = isolated.compile('return (conf, ctx) => { ctx.response.setHeader("x-a", ctx.var.uri) }');
    row('ctx.var read + response header (two host calls)', `${(nsPerCall(() => setHeader(conf, ctx), M) / 1000).toFixed(2)} µs`);
    const verdict = isolated.compile('return (conf, ctx) => [403, { message: "denied", uri: ctx.var.uri }]');
    row('returning [403, {...}] (copied out as JSON)', `${(nsPerCall(() => verdict(conf, ctx), M) / 1000).toFixed(2)} µs`);
    const later = isolated.compile('return async (conf, ctx) => { await null; return 403 }');
    row('async function (settled within the call)', `${((await nsPerAsyncCall(() => later(conf, ctx), M)) / 1000).toFixed(2)} µs`);
    const isoCost = compileCost(isolated, 50);
    row('compilation: time (new isolate + context + chunk)', `${isoCost.ms.toFixed(2)} ms`);
    row('compilation: RSS kept', `${isoCost.rssKb.toFixed(0)} KB`);
  }
  await watchdog.close();
}

await main();
