/**
 * Counters shared by a node's workers: what `limit-count`'s `policy: local`
 * counts in, and the leaky buckets of `limit-req`'s. APISIX keeps them in
 * nginx shared dicts, exact across the node's workers; fngate is exact the
 * same way:
 *
 * - one worker: the counters live in that worker ({@link LocalCounters}),
 *   synchronous, no IPC;
 * - several workers: the primary holds one {@link LocalCounters} and answers
 *   every worker's increments ({@link handleCounterMessage}); workers ask
 *   over IPC ({@link ClusterCounters}). The primary handles one message at a
 *   time, so every increment of a key sees the previous one: counts are exact
 *   and never repeat within a window.
 *
 * Leaky-bucket requests travel in the same batches as increments (marked
 * by `kinds`); the primary's {@link LocalLeakyBuckets} decides them, so the
 * rate holds for the node, not per worker.
 *
 * Window semantics follow APISIX's local policy: a key's window starts at its
 * first increment and the key expires `windowSeconds` later (the shared dict's
 * TTL); `ttl` is what APISIX reports as `X-RateLimit-Reset`: the window's end
 * second minus the current second, both whole Unix seconds (`ngx.time()`),
 * never below 0.
 *
 * Cost (bench/counters-ipc.bench.ts, 2 shared CPUs): in process, 50–200 ns
 * per increment. Through the primary, ~110 µs round trip for a lone increment
 * (mostly waking two processes); under load the increments of one event-loop
 * turn travel as one message each way: with 64 in flight, 2.5 µs per increment
 * (CPU: 1.4 µs in the worker, 0.9 µs in the primary), against ~11 µs with a
 * message per increment.
 */
import type { Logger } from '../log.js';
import type { SharedCounters } from '../pdk/context.js';
import { FngateError, errorMessage } from '../errors.js';
import { LocalLeakyBuckets } from '../plugins/limit/leaky-bucket.js';
import { SweptMap } from '../util/swept-map.js';
import { toWireError, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** What an increment returns: the count after it, and whole seconds left in the window. */
export interface CounterValue {
  readonly count: number;
  readonly ttl: number;
}

/** A delta or window that is not a finite number (or a window that is not positive). */
export class CounterArgumentError extends FngateError {
  readonly code = 'COUNTER_BAD_ARGUMENT';
}

/** The primary refused a batch of increments (only on a protocol bug: workers check arguments first). */
export class CounterPrimaryError extends FngateError {
  readonly code = 'COUNTER_PRIMARY_ERROR';
}

/** What a batch entry is: a fixed-window increment, or a request against a leaky bucket. */
const KIND_INCREMENT = 0;
const KIND_BUCKET = 1;

function checkBucket(rate: number, burst: number): void {
  if (!Number.isFinite(rate) || rate <= 0) throw new CounterArgumentError(`bucket rate must be a positive number, got ${String(rate)}`);
  if (!Number.isFinite(burst) || burst < 0) throw new CounterArgumentError(`bucket burst must be a number ≥ 0, got ${String(burst)}`);
}

function checkEntry(kind: number, a: number, b: number): void {
  if (kind === KIND_BUCKET) checkBucket(a, b);
  else checkIncrement(a, b);
}

function checkIncrement(delta: number, windowSeconds: number): void {
  if (!Number.isFinite(delta)) throw new CounterArgumentError(`counter delta must be a finite number, got ${String(delta)}`);
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) {
    throw new CounterArgumentError(`counter window must be a positive number of seconds, got ${String(windowSeconds)}`);
  }
}

// ---------------------------------------------------------------------------
// In-process counters
// ---------------------------------------------------------------------------

interface Window {
  count: number;
  /** When the key expires, ms since the epoch. */
  expiresAt: number;
  /** The Unix second the window ends, as APISIX computes it for X-RateLimit-Reset. */
  endSecond: number;
}

export interface LocalCountersOptions {
  /** Clock, ms since the epoch (default `Date.now`); tests pass a fake one. */
  readonly now?: () => number;
  /**
   * How often expired keys are dropped even when no new keys arrive, ms;
   * 0 disables the timer (growth still triggers sweeps). Default 10 s.
   */
  readonly sweepIntervalMs?: number;
}

/**
 * Fixed-window counters in one process: a map from key to window. A key
 * whose window has ended starts a new one on its next increment. Memory stays
 * bounded: expired keys are swept in the background (util/swept-map.ts).
 *
 * @example
 *   const counters = new LocalCounters();
 *   const { count, ttl } = counters.incr('route:1:127.0.0.1', 1, 60); // { count: 1, ttl: 60 }
 */
export class LocalCounters implements SharedCounters {
  readonly #windows: SweptMap<Window>;
  readonly #now: () => number;

  constructor(options: LocalCountersOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#windows = new SweptMap<Window>({
      expired: (window, now) => window.expiresAt <= now,
      now: this.#now,
      ...(options.sweepIntervalMs !== undefined ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
    });
  }

  /** Keys held, expired ones not yet swept included. */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Add `delta` to `key`'s window, starting a window of `windowSeconds` if the
   * key has none (or its window ended). A later call with another window
   * length does not change a running window.
   * @throws {CounterArgumentError} when `delta` or `windowSeconds` is not usable
   */
  incr(key: string, delta: number, windowSeconds: number): CounterValue {
    checkIncrement(delta, windowSeconds);
    const now = this.#now();
    const window = this.#windows.get(key) ?? this.#windows.add(key, { count: 0, expiresAt: 0, endSecond: 0 });
    const second = Math.floor(now / 1000);
    if (window.expiresAt <= now) {
      window.count = 0;
      window.expiresAt = now + windowSeconds * 1000;
      window.endSecond = second + windowSeconds;
    }
    window.count += delta;
    const ttl = window.endSecond - second;
    return { count: window.count, ttl: ttl > 0 ? ttl : 0 };
  }

  /**
   * Drop expired keys, a slice per event-loop turn; resolves with how many
   * were dropped. The counters sweep themselves (timer, growth); a call while
   * a sweep runs joins it.
   */
  sweep(): Promise<number> {
    return this.#windows.sweep();
  }

  /** Stop the timer and a running sweep (which resolves with what it dropped so far). Counting goes on. */
  close(): void {
    this.#windows.close();
  }
}

// ---------------------------------------------------------------------------
// Primary side
// ---------------------------------------------------------------------------

/** Where the primary sends a worker's answers: a node:cluster `Worker` fits. */
export interface CounterReplyTarget {
  /** False once the worker is gone: nothing is sent. */
  isConnected(): boolean;
  send(message: PrimaryMessage): unknown;
}

/** The node's shared state, held by the primary. */
export interface NodeCounters {
  readonly counters: LocalCounters;
  readonly buckets: LocalLeakyBuckets;
}

/**
 * The primary's side: count one worker message against the node's counters
 * and buckets, and answer it. Returns false when the message is not a
 * counter message, so that the caller can pass it on. A batch counts all or
 * nothing.
 *
 * @example
 *   const node = { counters: new LocalCounters(), buckets: new LocalLeakyBuckets() };
 *   worker.on('message', (m) => { if (handleCounterMessage(m, node, worker)) return; ... });
 */
export function handleCounterMessage(message: WorkerMessage, node: NodeCounters, worker: CounterReplyTarget): boolean {
  if (message.t !== 'counter.incr') return false;
  const { batch, keys, deltas, windows, kinds } = message;
  let reply: PrimaryMessage;
  try {
    if (deltas.length !== keys.length || windows.length !== keys.length || (kinds !== undefined && kinds.length !== keys.length)) {
      throw new CounterArgumentError(`counter batch ${batch} has ${keys.length} keys, ${deltas.length} deltas, ${windows.length} windows and ${kinds?.length ?? 'no'} kinds`);
    }
    // Check everything before counting anything, so a refused batch leaves no trace.
    for (let i = 0; i < keys.length; i++) checkEntry(kinds?.[i] ?? KIND_INCREMENT, deltas[i] as number, windows[i] as number);
    const counts: number[] = [];
    const ttls: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const value = applyEntry(node, kinds?.[i] ?? KIND_INCREMENT, keys[i] as string, deltas[i] as number, windows[i] as number);
      counts.push(value.count);
      ttls.push(value.ttl);
    }
    reply = { t: 'counter.result', batch, counts, ttls };
  } catch (err) {
    reply = { t: 'counter.error', batch, error: toWireError(err) };
  }
  if (worker.isConnected()) worker.send(reply);
  return true;
}

/** One entry against in-process state: an increment's value, or a bucket's wait as `count` (ttl 0). */
function applyEntry(node: NodeCounters, kind: number, key: string, a: number, b: number): CounterValue {
  if (kind === KIND_BUCKET) return { count: node.buckets.incoming(key, a, b), ttl: 0 };
  return node.counters.incr(key, a, b);
}

// ---------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------

/** The worker's IPC endpoint towards the primary. */
export interface CounterChannel {
  send(message: WorkerMessage): unknown;
  /** False once the primary is gone: increments are then counted locally at once. */
  isConnected(): boolean;
}

export interface ClusterCountersOptions {
  /** How long an increment waits for the primary before it is counted in the worker, ms. Default 200. */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** Counters as a data-plane worker holds them: increments plus the plumbing its process feeds. */
export interface WorkerCounters extends SharedCounters {
  leakyBucket(key: string, rate: number, burst: number): Promise<number> | number;
  /** Feed every message from the primary; returns true when it was a counter answer (consumed). */
  receive(message: PrimaryMessage): boolean;
  /** Stop timers; increments still waiting are answered locally. */
  close(): void;
}

interface Batch {
  readonly id: number;
  readonly keys: string[];
  /** Increments: delta; bucket requests: rate. */
  readonly deltas: number[];
  /** Increments: window seconds; bucket requests: burst. */
  readonly windows: number[];
  readonly kinds: number[];
  /** Whether any entry is a bucket request (the message carries `kinds` only then). */
  buckets: boolean;
  /** One per increment; empty for a probe (its caller was answered locally). */
  readonly resolves: Array<(value: CounterValue) => void>;
  readonly rejects: Array<(error: Error) => void>;
  readonly probe: boolean;
  /** performance.now() after which the worker stops waiting; set when sent. */
  deadline: number;
}

const DEFAULT_TIMEOUT_MS = 200;
/** At most one "primary does not answer" warning per this period, whatever the flapping. */
const WARN_INTERVAL_MS = 60_000;

/**
 * A worker's view of the node's counters, held by the primary.
 *
 * Increments made during one event-loop turn are sent as one `counter.incr`
 * message when the turn ends (setImmediate: no added latency beyond the
 * turn) and answered by one `counter.result`, correlated by batch id.
 *
 * **Bounded wait.** If the primary has not answered within `timeoutMs`
 * (default 200 ms), the waiting increments are counted in a worker-local
 * {@link LocalCounters} instead, a warning is logged (at most once a minute),
 * and the worker stays *degraded*: increments are answered locally at once,
 * while one of them at a time is also sent to the primary as a probe. The
 * first probe answered in time ends the degraded state. While degraded,
 * limits hold per worker rather than per node (up to N times as permissive);
 * a request never waits more than `timeoutMs` for a counter. An answer that
 * arrives after its increments were counted locally is dropped (the primary
 * did count them, so the node-wide counts stay complete).
 *
 * @example
 *   const counters = new ClusterCounters({ send: (m) => process.send?.(m), isConnected: () => process.connected });
 *   process.on('message', (m) => counters.receive(m));
 *   const { count, ttl } = await counters.incr('route:1:127.0.0.1', 1, 60);
 */
export class ClusterCounters implements WorkerCounters {
  readonly #channel: CounterChannel;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  #nextBatch = 1;
  /** Increments of the current turn, not sent yet. */
  #open: Batch | undefined;
  /** Sent and waiting, in send order (= deadline order). */
  readonly #inFlight = new Map<number, Batch>();
  #timer: NodeJS.Timeout | undefined;
  #fallback: NodeCounters | undefined;
  #degraded = false;
  #probing = false;
  #warnedAt = Number.NEGATIVE_INFINITY;
  #warned = false;
  #closed = false;

  constructor(channel: CounterChannel, options: ClusterCountersOptions = {}) {
    this.#channel = channel;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#logger = options.logger;
  }

  /** True while the primary is considered unresponsive and increments are counted in this worker. */
  get degraded(): boolean {
    return this.#degraded;
  }

  incr(key: string, delta: number, windowSeconds: number): Promise<CounterValue> {
    try {
      checkIncrement(delta, windowSeconds);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#request(KIND_INCREMENT, key, delta, windowSeconds);
  }

  leakyBucket(key: string, rate: number, burst: number): Promise<number> {
    try {
      checkBucket(rate, burst);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#request(KIND_BUCKET, key, rate, burst).then(bucketWait);
  }

  #request(kind: number, key: string, a: number, b: number): Promise<CounterValue> {
    if (this.#closed || !this.#channel.isConnected()) return Promise.resolve(applyEntry(this.#local(), kind, key, a, b));
    if (this.#degraded) {
      const value = applyEntry(this.#local(), kind, key, a, b);
      if (!this.#probing) {
        this.#probing = true;
        const probe = newBatch(this.#nextBatch++, true);
        push(probe, kind, key, a, b);
        this.#send(probe);
      }
      return Promise.resolve(value);
    }
    let batch = this.#open;
    if (batch === undefined) {
      batch = this.#open = newBatch(this.#nextBatch++, false);
      setImmediate(this.#flush);
    }
    push(batch, kind, key, a, b);
    return new Promise((resolve, reject) => {
      batch.resolves.push(resolve);
      batch.rejects.push(reject);
    });
  }

  receive(message: PrimaryMessage): boolean {
    if (message.t !== 'counter.result' && message.t !== 'counter.error') return false;
    const batch = this.#inFlight.get(message.batch);
    // Unknown: answered locally after its deadline, or from before a restart.
    if (batch === undefined) return true;
    this.#inFlight.delete(message.batch);
    if (batch.probe) this.#probing = false;
    if (this.#degraded && performance.now() <= batch.deadline) this.#recover();
    if (message.t === 'counter.error') {
      settleWithError(batch, new CounterPrimaryError(`the primary refused counter increments: ${message.error.message}`));
      return true;
    }
    const { counts, ttls } = message;
    const n = batch.resolves.length;
    if (!batch.probe && (counts.length !== n || ttls.length !== n)) {
      settleWithError(batch, new CounterPrimaryError(`the primary answered ${counts.length} counts for ${n} increments`));
      return true;
    }
    for (let i = 0; i < n; i++) (batch.resolves[i] as (value: CounterValue) => void)({ count: counts[i] as number, ttl: ttls[i] as number });
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const open = this.#open;
    this.#open = undefined;
    if (open) this.#settleLocally(open);
    for (const batch of this.#inFlight.values()) this.#settleLocally(batch);
    this.#inFlight.clear();
    this.#fallback?.counters.close();
    this.#fallback?.buckets.close();
  }

  /** End of the turn: send what it collected. */
  readonly #flush = (): void => {
    const batch = this.#open;
    this.#open = undefined;
    if (batch !== undefined) this.#send(batch);
  };

  #send(batch: Batch): void {
    if (this.#closed || !this.#channel.isConnected()) {
      this.#settleLocally(batch);
      return;
    }
    try {
      this.#channel.send(batch.buckets
        ? { t: 'counter.incr', batch: batch.id, keys: batch.keys, deltas: batch.deltas, windows: batch.windows, kinds: batch.kinds }
        : { t: 'counter.incr', batch: batch.id, keys: batch.keys, deltas: batch.deltas, windows: batch.windows });
    } catch (err) {
      this.#logger?.warn({ err: errorMessage(err) }, 'could not send counter increments to the primary; counted in this worker');
      this.#settleLocally(batch);
      return;
    }
    batch.deadline = performance.now() + this.#timeoutMs;
    this.#inFlight.set(batch.id, batch);
    this.#timer ??= this.#arm(this.#timeoutMs);
  }

  /** Ref'd on purpose: an increment someone awaits is work, so it must keep the loop alive until settled. */
  #arm(delayMs: number): NodeJS.Timeout {
    return setTimeout(this.#onTimer, delayMs);
  }

  /**
   * Expire in the check phase, not the timers phase: answers already waiting
   * in the IPC pipe (say, after this worker's own loop was busy) are read in
   * the poll phase in between, so a slow worker does not blame the primary.
   * `#timer` stays set until then, so that no second timer is armed.
   */
  readonly #onTimer = (): void => {
    setImmediate(this.#expire);
  };

  readonly #expire = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = performance.now();
    for (const [id, batch] of this.#inFlight) {
      if (batch.deadline > now) {
        this.#timer = this.#arm(batch.deadline - now);
        return;
      }
      this.#inFlight.delete(id);
      this.#settleLocally(batch);
      this.#degrade();
    }
  };

  /** Count a batch in this worker and answer its callers (a probe's caller already was). */
  #settleLocally(batch: Batch): void {
    if (batch.probe) {
      this.#probing = false;
      return;
    }
    const local = this.#local();
    for (let i = 0; i < batch.resolves.length; i++) {
      const resolve = batch.resolves[i] as (value: CounterValue) => void;
      resolve(applyEntry(local, batch.kinds[i] as number, batch.keys[i] as string, batch.deltas[i] as number, batch.windows[i] as number));
    }
  }

  #local(): NodeCounters {
    return (this.#fallback ??= { counters: new LocalCounters(), buckets: new LocalLeakyBuckets() });
  }

  #degrade(): void {
    if (this.#degraded) return;
    this.#degraded = true;
    const now = performance.now();
    this.#warned = now - this.#warnedAt >= WARN_INTERVAL_MS;
    if (this.#warned) {
      this.#warnedAt = now;
      this.#logger?.warn(
        { timeout_ms: this.#timeoutMs },
        'the primary did not answer counter increments in time; counting in this worker (limits hold per worker) until it does',
      );
    }
  }

  #recover(): void {
    this.#degraded = false;
    if (this.#warned) this.#logger?.info('the primary answers counter increments again; counting node-wide');
  }
}

function newBatch(id: number, probe: boolean): Batch {
  return { id, keys: [], deltas: [], windows: [], kinds: [], buckets: false, resolves: [], rejects: [], probe, deadline: 0 };
}

function push(batch: Batch, kind: number, key: string, a: number, b: number): void {
  batch.keys.push(key);
  batch.deltas.push(a);
  batch.windows.push(b);
  batch.kinds.push(kind);
  if (kind === KIND_BUCKET) batch.buckets = true;
}

function bucketWait(value: CounterValue): number {
  return value.count;
}

function settleWithError(batch: Batch, error: Error): void {
  for (const reject of batch.rejects) reject(error);
}

// ---------------------------------------------------------------------------
// Factory
// ---------------------------------------------------------------------------

/**
 * The counters (and leaky buckets) a data-plane worker serves `ctx.counters`
 * from: in-process when the node has one worker (exact without IPC),
 * through the primary otherwise.
 *
 * @example
 *   const counters = createSharedCounters(config.nginx_config.worker_processes, channel, { logger });
 *   process.on('message', (m) => { if (counters.receive(m)) return; ... });
 */
export function createSharedCounters(workerCount: number, channel: CounterChannel, options: ClusterCountersOptions = {}): WorkerCounters {
  if (workerCount > 1) return new ClusterCounters(channel, options);
  const local = new LocalCounters();
  let buckets: LocalLeakyBuckets | undefined;
  return {
    incr: (key, delta, windowSeconds) => local.incr(key, delta, windowSeconds),
    leakyBucket: (key, rate, burst) => {
      checkBucket(rate, burst);
      return (buckets ??= new LocalLeakyBuckets()).incoming(key, rate, burst);
    },
    receive: () => false,
    close: () => {
      local.close();
      buckets?.close();
    },
  };
}
