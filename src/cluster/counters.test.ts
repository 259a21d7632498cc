import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  ClusterCounters,
  CounterArgumentError,
  CounterPrimaryError,
  LocalCounters,
  createSharedCounters,
  handleCounterMessage,
  type CounterChannel,
  type CounterValue,
} from './counters.js';
import type { PrimaryMessage, WorkerMessage } from './messages.js';
import { LocalLeakyBuckets } from '../plugins/limit/leaky-bucket.js';

/** A settable clock, ms since the epoch. */
function clock(startMs: number) {
  const c = { ms: startMs, now: () => c.ms };
  return c;
}

async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Log lines of a real pino logger, parsed. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

describe('LocalCounters', () => {
  test('a window starts at the first increment; ttl counts down in whole seconds as APISIX reports it', () => {
    const c = clock(10_900); // 10.9 s past the epoch
    const counters = new LocalCounters({ now: c.now, sweepIntervalMs: 0 });
    assert.deepEqual(counters.incr('k', 1, 2), { count: 1, ttl: 2 });
    c.ms = 11_000; // the second changed: window ends at second 12
    assert.deepEqual(counters.incr('k', 1, 2), { count: 2, ttl: 1 });
    c.ms = 12_500; // last fraction of the window: ttl 0, still counting
    assert.deepEqual(counters.incr('k', 3, 2), { count: 5, ttl: 0 });
    c.ms = 12_899;
    assert.equal(counters.incr('k', 1, 2).count, 6);
    c.ms = 12_900; // exactly 2 s after the first increment: the key expired
    assert.deepEqual(counters.incr('k', 1, 2), { count: 1, ttl: 2 });
    counters.close();
  });

  test('keys are independent, and a running window keeps its length', () => {
    const c = clock(1_000_000);
    const counters = new LocalCounters({ now: c.now, sweepIntervalMs: 0 });
    counters.incr('a', 1, 60);
    counters.incr('a', 1, 60);
    assert.deepEqual(counters.incr('b', 1, 5), { count: 1, ttl: 5 });
    c.ms += 10_000;
    assert.deepEqual(counters.incr('a', 1, 1), { count: 3, ttl: 50 }, 'a later window length does not shorten a running window');
    assert.deepEqual(counters.incr('b', 1, 5), { count: 1, ttl: 5 }, 'b had expired and starts over');
  });

  test('bad deltas and windows are refused with a stable code', () => {
    const counters = new LocalCounters({ sweepIntervalMs: 0 });
    for (const [delta, window] of [[Number.NaN, 1], [1, 0], [1, -5], [1, Number.POSITIVE_INFINITY]] as const) {
      assert.throws(() => counters.incr('k', delta, window), (err: unknown) => err instanceof CounterArgumentError && err.code === 'COUNTER_BAD_ARGUMENT');
    }
    assert.equal(counters.size, 0);
  });

  test('sweep drops expired keys only', async () => {
    const c = clock(0);
    const counters = new LocalCounters({ now: c.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 10; i++) counters.incr(`short${i}`, 1, 1);
    for (let i = 0; i < 5; i++) counters.incr(`long${i}`, 1, 100);
    c.ms = 1_000;
    assert.equal(await counters.sweep(), 10);
    assert.equal(counters.size, 5);
    assert.equal(counters.incr('long0', 1, 100).count, 2);
  });

  test('growth triggers a sweep, so memory stays bounded without the timer', () => {
    const c = clock(0);
    const counters = new LocalCounters({ now: c.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 1_024; i++) counters.incr(`old${i}`, 1, 1);
    c.ms = 5_000;
    counters.incr('new', 1, 1);
    assert.equal(counters.size, 1, 'the 1,024 expired keys were dropped when a new key arrived');
    // Live keys are never dropped.
    for (let i = 0; i < 3_000; i++) counters.incr(`live${i}`, 1, 60);
    assert.equal(counters.size, 3_001);
    counters.close();
  });

  test('a large sweep runs a slice per event-loop turn', async () => {
    const c = clock(0);
    const counters = new LocalCounters({ now: c.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 20_000; i++) counters.incr(`k${i}`, 1, 1);
    await counters.sweep(); // let sweeps started by growth finish
    c.ms = 5_000;
    const pending = counters.sweep();
    assert.ok(counters.size > 0 && counters.size < 20_000, `one slice now, the rest later (size ${counters.size})`);
    assert.equal(counters.sweep(), pending, 'a second call joins the running sweep');
    assert.equal(await pending, 20_000);
    assert.equal(counters.size, 0);
  });

  test('the timer sweeps while no increments arrive', async () => {
    const counters = new LocalCounters({ sweepIntervalMs: 10 });
    for (let i = 0; i < 100; i++) counters.incr(`k${i}`, 1, 0.02);
    assert.equal(counters.size, 100);
    await until(() => counters.size === 0, 'the timer to sweep expired keys');
    counters.close();
  });
});

/**
 * A worker's ClusterCounters wired to a primary through an asynchronous,
 * cloning "IPC" channel; `answering` false makes the primary silent.
 */
function connect(options: { timeoutMs?: number; logger?: ReturnType<typeof capturingLogger>['logger'] } = {}) {
  const primary = new LocalCounters({ sweepIntervalMs: 0 });
  const primaryBuckets = new LocalLeakyBuckets({ sweepIntervalMs: 0 });
  const wire = { answering: true, connected: true, sent: [] as WorkerMessage[], held: [] as PrimaryMessage[], hold: false };
  const worker: { counters?: ClusterCounters } = {};
  const deliver = (m: PrimaryMessage) => setImmediate(() => worker.counters?.receive(structuredClone(m)));
  const channel: CounterChannel = {
    isConnected: () => wire.connected,
    send: (m: WorkerMessage) => {
      wire.sent.push(m);
      const copy = structuredClone(m);
      setImmediate(() => {
        if (!wire.answering) return;
        handleCounterMessage(copy, { counters: primary, buckets: primaryBuckets }, {
          isConnected: () => true,
          send: (reply: PrimaryMessage) => (wire.hold ? wire.held.push(reply) : deliver(reply)),
        });
      });
    },
  };
  const counters = new ClusterCounters(channel, { timeoutMs: options.timeoutMs ?? 1_000, ...(options.logger ? { logger: options.logger } : {}) });
  worker.counters = counters;
  const release = () => {
    for (const reply of wire.held.splice(0).reverse()) deliver(reply);
  };
  return { counters, primary, primaryBuckets, wire, release };
}

describe('ClusterCounters', () => {
  test('increments of one turn travel as one message and come back in order', async () => {
    const { counters, wire } = connect();
    const values = await Promise.all(Array.from({ length: 50 }, () => counters.incr('k', 1, 60)));
    assert.equal(wire.sent.length, 1);
    assert.deepEqual(values.map((v) => v.count), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.ok(values.every((v) => v.ttl === 60));
    counters.close();
  });

  test('answers are matched to their batch even when they come back out of order', async () => {
    const { counters, wire, release } = connect();
    wire.hold = true;
    const first = counters.incr('a', 1, 60);
    await new Promise((resolve) => setImmediate(resolve));
    const second = [counters.incr('a', 10, 60), counters.incr('b', 1, 60)];
    await until(() => wire.held.length === 2, 'both batches to be answered');
    release(); // delivers the second batch's answer first
    assert.deepEqual(await first, { count: 1, ttl: 60 });
    assert.deepEqual((await Promise.all(second)).map((v) => v.count), [11, 1]);
    counters.close();
  });

  test('bad arguments reject without reaching the primary', async () => {
    const { counters, wire } = connect();
    await assert.rejects(counters.incr('k', 1, 0), CounterArgumentError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(wire.sent.length, 0);
    counters.close();
  });

  test('a batch the primary refuses rejects every increment in it', async () => {
    const sent: WorkerMessage[] = [];
    const counters = new ClusterCounters({ isConnected: () => true, send: (m) => sent.push(m) });
    const pending = [counters.incr('a', 1, 60), counters.incr('b', 1, 60)];
    await until(() => sent.length === 1, 'the batch to be sent');
    const batch = (sent[0] as Extract<WorkerMessage, { t: 'counter.incr' }>).batch;
    counters.receive({ t: 'counter.error', batch, error: { code: 'COUNTER_BAD_ARGUMENT', message: 'nope' } });
    for (const p of pending) await assert.rejects(p, (err: unknown) => err instanceof CounterPrimaryError && /nope/.test(err.message));
    counters.close();
  });

  test('without a primary, increments are counted locally at once', async () => {
    const { counters, wire } = connect();
    wire.connected = false;
    assert.deepEqual(await counters.incr('k', 1, 60), { count: 1, ttl: 60 });
    assert.deepEqual(await counters.incr('k', 1, 60), { count: 2, ttl: 60 });
    assert.equal(wire.sent.length, 0);
    counters.close();
  });

  test('a silent primary costs one timeout, then the worker counts locally and probes until it answers', async () => {
    const { logger, lines } = capturingLogger();
    const { counters, wire, primary } = connect({ timeoutMs: 40, logger });
    wire.answering = false;

    const started = performance.now();
    const waited = await Promise.all([counters.incr('k', 1, 60), counters.incr('k', 1, 60)]);
    const elapsed = performance.now() - started;
    assert.deepEqual(waited.map((v) => v.count), [1, 2], 'counted in the worker');
    assert.ok(elapsed >= 35 && elapsed < 1_000, `waited ${elapsed.toFixed(0)} ms for a 40 ms timeout`);
    assert.equal(counters.degraded, true);

    // Degraded: answered at once, locally; one probe at a time goes to the primary.
    const sentBefore = wire.sent.length;
    const fast = performance.now();
    assert.equal((await counters.incr('k', 1, 60)).count, 3);
    assert.equal((await counters.incr('k', 1, 60)).count, 4);
    assert.ok(performance.now() - fast < 30, 'no wait while degraded');
    assert.equal(wire.sent.length, sentBefore + 1, 'one probe in flight');

    // The probe expires unanswered; a later increment sends the next one, and nothing more is logged.
    await until(() => {
      void counters.incr('k', 1, 60);
      return wire.sent.length >= sentBefore + 2;
    }, 'a second probe after the first expired');
    assert.equal(lines.filter((l) => l.level === 40).length, 1, 'warned once');

    // The primary answers again: the next probe brings the worker back to node-wide counting.
    wire.answering = true;
    await until(() => {
      void counters.incr('k', 1, 60);
      return !counters.degraded;
    }, 'the worker to recover');
    assert.ok(lines.some((l) => l.level === 30 && /answers counter increments again/.test(l.msg)));
    const afterRecovery = await counters.incr('fresh', 1, 60);
    assert.deepEqual(afterRecovery, { count: 1, ttl: 60 });
    assert.equal(primary.incr('fresh', 0, 60).count, 1, 'counted by the primary');
    counters.close();
  });

  test('leaky-bucket requests ride in the same batch, marked, and the primary decides them', async () => {
    const { counters, wire, primaryBuckets } = connect();
    const [increment, first, second, third] = await Promise.all([
      counters.incr('k', 1, 60),
      counters.leakyBucket('b', 1, 1),
      counters.leakyBucket('b', 1, 1),
      counters.leakyBucket('b', 1, 1),
    ]);
    assert.equal(wire.sent.length, 1);
    assert.deepEqual((wire.sent[0] as { kinds?: number[] }).kinds, [0, 1, 1, 1]);
    assert.deepEqual(increment, { count: 1, ttl: 60 });
    assert.equal(first, 0, 'within the rate');
    assert.ok(second > 0.9 && second <= 1, `one over the rate waits ~1 s, got ${second}`);
    assert.equal(third, -1, 'over rate + burst');
    assert.equal(primaryBuckets.size, 1, 'the state is the primary\'s');
    counters.close();
  });

  test('increment-only batches carry no kinds; bad bucket arguments reject before the wire', async () => {
    const { counters, wire } = connect();
    await counters.incr('k', 1, 60);
    assert.equal('kinds' in (wire.sent[0] as object), false);
    await assert.rejects(counters.leakyBucket('b', 0, 1), CounterArgumentError);
    await assert.rejects(counters.leakyBucket('b', 1, -1), CounterArgumentError);
    assert.equal(wire.sent.length, 1);
    counters.close();
  });

  test('a silent primary: bucket requests fall back to the worker too', async () => {
    const { counters, wire } = connect({ timeoutMs: 30 });
    wire.answering = false;
    assert.equal(await counters.leakyBucket('b', 1, 0), 0);
    assert.equal(counters.degraded, true);
    assert.equal(await counters.leakyBucket('b', 1, 0), -1, 'the worker keeps its own bucket meanwhile');
    counters.close();
  });

  test('close answers waiting increments locally', async () => {
    const { counters, wire } = connect({ timeoutMs: 60_000 });
    wire.answering = false;
    const pending = counters.incr('k', 1, 60);
    await until(() => wire.sent.length === 1, 'the batch to be sent');
    counters.close();
    assert.deepEqual(await pending, { count: 1, ttl: 60 });
  });
});

describe('handleCounterMessage', () => {
  function node(counters: LocalCounters) {
    return { counters, buckets: new LocalLeakyBuckets({ sweepIntervalMs: 0 }) };
  }

  function target() {
    const replies: PrimaryMessage[] = [];
    return { replies, isConnected: () => true, send: (m: PrimaryMessage) => replies.push(m) };
  }

  test('counts a batch in order and answers it', () => {
    const counters = new LocalCounters({ sweepIntervalMs: 0 });
    const to = target();
    assert.equal(handleCounterMessage({ t: 'counter.incr', batch: 7, keys: ['a', 'a', 'b'], deltas: [1, 2, 1], windows: [60, 60, 5] }, node(counters), to), true);
    assert.deepEqual(to.replies, [{ t: 'counter.result', batch: 7, counts: [1, 3, 1], ttls: [60, 60, 5] }]);
  });

  test('buckets are the node\'s: two workers\' requests drain one bucket', () => {
    const n = node(new LocalCounters({ sweepIntervalMs: 0 }));
    const a = target();
    const b = target();
    handleCounterMessage({ t: 'counter.incr', batch: 1, keys: ['r'], deltas: [1], windows: [0], kinds: [1] }, n, a);
    handleCounterMessage({ t: 'counter.incr', batch: 1, keys: ['r'], deltas: [1], windows: [0], kinds: [1] }, n, b);
    assert.deepEqual(a.replies, [{ t: 'counter.result', batch: 1, counts: [0], ttls: [0] }]);
    assert.deepEqual(b.replies, [{ t: 'counter.result', batch: 1, counts: [-1], ttls: [0] }], 'the second worker finds the bucket full');
  });

  test('a batch with a bad bucket request, or kinds of the wrong length, counts nothing', () => {
    const n = node(new LocalCounters({ sweepIntervalMs: 0 }));
    const to = target();
    handleCounterMessage({ t: 'counter.incr', batch: 1, keys: ['a', 'r'], deltas: [1, 0], windows: [60, 1], kinds: [0, 1] }, n, to);
    handleCounterMessage({ t: 'counter.incr', batch: 2, keys: ['a'], deltas: [1], windows: [60], kinds: [0, 1] }, n, to);
    assert.deepEqual(to.replies.map((r) => r.t), ['counter.error', 'counter.error']);
    assert.equal(n.counters.size, 0);
    assert.equal(n.buckets.size, 0);
  });

  test('a batch with one bad increment counts nothing', () => {
    const counters = new LocalCounters({ sweepIntervalMs: 0 });
    const to = target();
    handleCounterMessage({ t: 'counter.incr', batch: 1, keys: ['a', 'b'], deltas: [1, 1], windows: [60, -1] }, node(counters), to);
    const reply = to.replies[0];
    assert.equal(reply?.t, 'counter.error');
    assert.equal(reply.t === 'counter.error' && reply.error.code, 'COUNTER_BAD_ARGUMENT');
    assert.equal(counters.size, 0);
  });

  test('other messages are left to the caller; a gone worker gets no answer', () => {
    const counters = new LocalCounters({ sweepIntervalMs: 0 });
    const to = target();
    assert.equal(handleCounterMessage({ t: 'heartbeat' }, node(counters), to), false);
    assert.equal(handleCounterMessage({ t: 'counter.incr', batch: 1, keys: ['a'], deltas: [1], windows: [1] }, node(counters), { ...to, isConnected: () => false }), true);
    assert.equal(to.replies.length, 0);
    assert.equal(counters.incr('a', 0, 1).count, 1, 'still counted');
  });
});

describe('createSharedCounters', () => {
  const channel: CounterChannel = { isConnected: () => true, send: () => assert.fail('one worker must not use IPC') };

  test('one worker counts in process, synchronously', () => {
    const counters = createSharedCounters(1, channel);
    const value = counters.incr('k', 1, 60) as CounterValue;
    assert.deepEqual(value, { count: 1, ttl: 60 });
    assert.equal(counters.receive({ t: 'counter.result', batch: 1, counts: [], ttls: [] }), false);
    assert.equal(counters.leakyBucket('b', 1, 0), 0);
    assert.equal(counters.leakyBucket('b', 1, 0), -1);
    assert.throws(() => counters.leakyBucket('b', 0, 0), CounterArgumentError);
    counters.close();
  });

  test('several workers go through the primary', () => {
    const counters = createSharedCounters(2, { isConnected: () => true, send: () => undefined });
    assert.ok(counters instanceof ClusterCounters);
    counters.close();
  });
});
