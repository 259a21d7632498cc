/**
 * Counters shared by a node's workers (src/cluster/counters.ts) with real
 * processes: worker processes increment concurrently through a primary and
 * the counts are exact; a primary that does not answer costs a bounded wait;
 * and through the gateway itself, `ctx.counters` is node-wide with two
 * workers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { LocalCounters, handleCounterMessage } from '../../src/cluster/counters.js';
import { isWorkerMessage, type PrimaryMessage } from '../../src/cluster/messages.js';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';
import { LocalLeakyBuckets } from '../../src/plugins/limit/leaky-bucket.js';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/counter-worker.ts');

interface Done {
  t: 'test.done';
  counts: Record<string, number[]>;
  ttls: number[];
  degraded: boolean;
  elapsedMs: number;
}

interface ForkedWorker {
  readonly child: ChildProcess;
  readonly hello: Promise<void>;
  readonly done: Promise<Done>;
}

/** Fork a counter worker; the test process plays the primary (answering with `counters` unless `silent`). */
function forkWorker(counters: LocalCounters, options: { timeoutMs: number; silent?: boolean }): ForkedWorker {
  const child = fork(FIXTURE, [String(options.timeoutMs)], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const target = { isConnected: () => child.connected, send: (m: PrimaryMessage) => child.send(m) };
  const node = { counters, buckets: new LocalLeakyBuckets({ sweepIntervalMs: 0 }) };
  let onHello: () => void = () => undefined;
  let onDone: (done: Done) => void = () => undefined;
  let onExit: (err: Error) => void = () => undefined;
  const hello = new Promise<void>((resolveHello, reject) => {
    onHello = resolveHello;
    child.once('exit', (code) => reject(new Error(`counter worker exited early (code ${String(code)})`)));
  });
  const done = new Promise<Done>((resolveDone, reject) => {
    onDone = resolveDone;
    onExit = reject;
  });
  child.once('exit', (code) => onExit(new Error(`counter worker exited before reporting (code ${String(code)})`)));
  child.on('message', (message: unknown) => {
    if (!isWorkerMessage(message)) return;
    if (message.t === 'counter.incr') {
      if (!options.silent) handleCounterMessage(message, node, target);
      return;
    }
    const test = message as unknown as { t: string };
    if (test.t === 'test.hello') onHello();
    else if (test.t === 'test.done') onDone(test as Done);
  });
  // Keep unhandled-rejection noise out when a test fails before awaiting these.
  hello.catch(() => undefined);
  done.catch(() => undefined);
  return { child, hello, done };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

describe('shared counters across processes', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill();
  });

  test('workers incrementing concurrently through the primary get exact, distinct counts', async () => {
    const counters = new LocalCounters();
    const workers = [0, 1, 2].map(() => forkWorker(counters, { timeoutMs: 10_000 }));
    children.push(...workers.map((w) => w.child));
    await Promise.all(workers.map((w) => w.hello));

    const keys = ['a', 'b', 'c'];
    const perWorker = 3_000;
    for (const w of workers) w.child.send({ t: 'test.run', n: perWorker, keys, wave: 25 });
    const results = await Promise.all(workers.map((w) => w.done));

    for (const result of results) assert.equal(result.degraded, false, 'no worker fell back to local counting');
    const perKey = (perWorker / keys.length) * workers.length;
    for (const key of keys) {
      const all = results.flatMap((r) => r.counts[key] ?? []).sort((x, y) => x - y);
      assert.deepEqual(all, range(perKey), `key ${key}: every count from 1 to ${perKey} handed out exactly once`);
      assert.equal(counters.incr(key, 0, 60).count, perKey);
    }
    // Each worker's increments interleaved with the others' (they really ran concurrently).
    const interleaved = results.filter((r) => Math.max(...(r.counts.a ?? [])) - Math.min(...(r.counts.a ?? [])) > perWorker / keys.length);
    assert.ok(interleaved.length > 0);
    assert.ok(results.every((r) => r.ttls.every((ttl) => ttl > 0 && ttl <= 60)));
    counters.close();
  });

  test('a primary that does not answer costs the worker one bounded wait, then it counts locally', async () => {
    const counters = new LocalCounters();
    const worker = forkWorker(counters, { timeoutMs: 100, silent: true });
    children.push(worker.child);
    await worker.hello;
    worker.child.send({ t: 'test.run', n: 40, keys: ['k'], wave: 10 });
    const result = await worker.done;
    assert.deepEqual([...(result.counts.k ?? [])].sort((x, y) => x - y), range(40));
    assert.equal(result.degraded, true);
    assert.ok(result.elapsedMs >= 90 && result.elapsedMs < 2_000, `took ${result.elapsedMs.toFixed(0)} ms`);
    assert.equal(counters.size, 0, 'the silent primary counted nothing');
    counters.close();
  });
});

describe('ctx.counters through the gateway with two workers', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  let pluginDir: string;

  before(async () => {
    pluginDir = mkdtempSync(join(tmpdir(), 'fngate-counters-'));
    // Answers every request with the node-wide count and the pid of the worker that served it.
    writeFileSync(join(pluginDir, 'count-probe.mjs'), `
export default {
  name: 'count-probe',
  priority: 1,
  schema: { type: 'object' },
  async access(conf, ctx) {
    const { count, ttl } = await ctx.counters.incr('count-probe', 1, 60);
    return [200, { count, ttl, pid: process.pid }];
  },
};
`);
    up = await startUpstream('up');
    gw = await startGatewayProcess({
      config: { nginx_config: { worker_processes: 2 }, fngate: { custom_plugin_dirs: [pluginDir] } },
    });
    const put = await adminRequest(gw, 'PUT', '/apisix/admin/routes/1', { uri: '/count', plugins: { 'count-probe': {} }, upstream: { nodes: { [up.node]: 1 } } });
    assert.equal(put.status, 201, put.text);
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
    rmSync(pluginDir, { recursive: true, force: true });
  });

  test('requests spread over both workers draw from one counter', async () => {
    const seen: Array<{ count: number; ttl: number; pid: number }> = [];
    // Until both workers have answered with a count, both have the route (those answers count too).
    await waitFor(async () => {
      const res = await request(`${gw.proxyUrl}/count`, { reset: true });
      if (res.statusCode === 200) seen.push(await res.body.json() as { count: number; ttl: number; pid: number });
      else await res.body.dump();
      return new Set(seen.map((s) => s.pid)).size === 2;
    }, { what: 'both workers serving the counting route' });

    // Fresh connections, many at a time, so both workers accept some.
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(Array.from({ length: 20 }, async () => {
        const res = await request(`${gw.proxyUrl}/count`, { reset: true });
        assert.equal(res.statusCode, 200);
        return await res.body.json() as { count: number; ttl: number; pid: number };
      }));
      seen.push(...batch);
    }
    assert.deepEqual(seen.map((s) => s.count).sort((x, y) => x - y), range(seen.length));
    assert.ok(seen.every((s) => s.ttl > 0 && s.ttl <= 60));
  });
});
