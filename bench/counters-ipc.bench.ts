/**
 * Shared counters micro-benchmark (src/cluster/counters.ts):
 *
 * - LocalCounters.incr, ns per call (one hot key; 100,000 keys);
 * - LocalCounters.sweep over 1,000,000 keys: total time and the longest
 *   event-loop turn it takes (it works a slice per turn);
 * - ClusterCounters through a real forked process (the bench plays the
 *   primary with handleCounterMessage, as src/cluster/primary.ts does):
 *   µs per increment one at a time (round trip), and with 64 in flight
 *   (batched per event-loop turn), plus CPU µs per increment in each process.
 *
 *   node --import tsx bench/counters-ipc.bench.ts [increments=20000]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClusterCounters, LocalCounters, handleCounterMessage } from '../src/cluster/counters.js';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from '../src/cluster/messages.js';
import { LocalLeakyBuckets } from '../src/plugins/limit/leaky-bucket.js';

const N = Number(process.argv[2] ?? 20_000);

interface Run { t: 'bench.run'; n: number; inFlight: number }
interface Result { t: 'bench.result'; wallUs: number; cpuUs: number }

// --- worker side ----------------------------------------------------------

async function worker(): Promise<void> {
  const counters = new ClusterCounters(
    { send: (m: WorkerMessage) => process.send?.(m), isConnected: () => process.connected },
    { timeoutMs: 10_000 },
  );
  process.on('message', (message: PrimaryMessage | Run) => {
    if (message.t !== 'bench.run') {
      counters.receive(message);
      return;
    }
    void (async () => {
      const keys = Array.from({ length: 64 }, (_, i) => `route:1:10.0.0.${i}`);
      let left = message.n;
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      await Promise.all(Array.from({ length: message.inFlight }, async (_, lane) => {
        while (left-- > 0) await counters.incr(keys[lane % keys.length] as string, 1, 60);
      }));
      const wallUs = Number(process.hrtime.bigint() - started) / 1e3;
      const used = process.cpuUsage(cpu);
      process.send?.({ t: 'bench.result', wallUs, cpuUs: used.user + used.system } satisfies Result);
    })();
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ t: 'bench.ready' });
}

// --- primary side ---------------------------------------------------------

function ns(fn: () => void, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - started) / iterations;
}

/** Run `work`; resolves with its duration and the longest event-loop turn while it ran, ms. */
async function turns(work: () => Promise<unknown>): Promise<{ totalMs: number; longestTurnMs: number }> {
  let finished = false;
  let longest = 0;
  const started = performance.now();
  let last = started;
  const running = work().then(() => { finished = true; });
  while (!finished) {
    await new Promise((resolve) => setImmediate(resolve));
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }
  await running;
  return { totalMs: performance.now() - started, longestTurnMs: longest };
}

async function local(): Promise<void> {
  const counters = new LocalCounters({ sweepIntervalMs: 0 });
  const iterations = 1_000_000;
  ns(() => counters.incr('hot', 1, 60), 100_000);
  console.log(`LocalCounters.incr, one key:        ${ns(() => counters.incr('hot', 1, 60), iterations).toFixed(0)} ns`);
  const keys = Array.from({ length: 100_000 }, (_, i) => `route:1:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  let i = 0;
  const many = ns(() => counters.incr(keys[i++ % keys.length] as string, 1, 60), iterations);
  console.log(`LocalCounters.incr, 100,000 keys:   ${many.toFixed(0)} ns`);

  let now = 0;
  const big = new LocalCounters({ sweepIntervalMs: 0, now: () => now });
  for (let k = 0; k < 1_000_000; k++) big.incr(`route:1:key${k}`, 1, 1);
  await big.sweep(); // sweeps started by growth
  now = 500; // nothing expired: the sweep only walks
  const walk = await turns(() => big.sweep());
  now = 5_000;
  const drop = await turns(() => big.sweep());
  console.log(
    `LocalCounters.sweep, 1,000,000 keys: live ${walk.totalMs.toFixed(0)} ms in all, longest turn ${walk.longestTurnMs.toFixed(2)} ms; ` +
    `expired ${drop.totalMs.toFixed(0)} ms in all, longest turn ${drop.longestTurnMs.toFixed(2)} ms`,
  );
}

async function ipc(): Promise<void> {
  const counters = new LocalCounters();
  const buckets = new LocalLeakyBuckets();
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    env: { ...process.env, COUNTERS_BENCH_WORKER: '1' },
  });
  const target = { isConnected: () => child.connected, send: (m: PrimaryMessage) => child.send(m) };
  let onResult: (r: Result) => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && handleCounterMessage(message, { counters, buckets }, target)) return;
      const m = message as { t: string };
      if (m.t === 'bench.ready') resolve();
      else if (m.t === 'bench.result') onResult(m as Result);
    });
  });
  await ready;
  const run = async (n: number, inFlight: number): Promise<{ wallUs: number; workerCpuUs: number; primaryCpuUs: number }> => {
    const cpu = process.cpuUsage();
    const result = await new Promise<Result>((resolve) => {
      onResult = resolve;
      child.send({ t: 'bench.run', n, inFlight } satisfies Run);
    });
    const used = process.cpuUsage(cpu);
    return { wallUs: result.wallUs / n, workerCpuUs: result.cpuUs / n, primaryCpuUs: (used.user + used.system) / n };
  };
  for (const inFlight of [1, 64]) {
    await run(Math.min(N, 5_000), inFlight); // warm-up
    const r = await run(N, inFlight);
    console.log(
      `ClusterCounters, ${String(inFlight).padStart(2)} in flight:       ${r.wallUs.toFixed(1)} µs per incr (wall); ` +
      `CPU per incr: worker ${r.workerCpuUs.toFixed(1)} µs, primary ${r.primaryCpuUs.toFixed(1)} µs`,
    );
  }
  child.disconnect();
  counters.close();
}

if (process.env.COUNTERS_BENCH_WORKER) {
  await worker();
} else {
  await local();
  await ipc();
}
