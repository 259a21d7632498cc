/**
 * The leaky bucket of limit-req, as nginx's `limit_req` and
 * lua-resty-limit-traffic's `resty.limit.req` (which APISIX uses) define it.
 *
 * Each key has an *excess*: how many requests above the rate it has made,
 * draining at `rate` requests per second. A request adds one to the
 * drained excess; the first request of a key (or of a fully drained one)
 * starts at zero. When the new excess would exceed `burst` the request is
 * rejected and the state stays as it was; otherwise the request should wait
 * `excess / rate` seconds, so that accepted requests leave at the rate.
 *
 * `LocalLeakyBuckets` holds the state in the process; the Redis variant
 * (redis-leaky-bucket.ts) runs the same arithmetic in a script.
 */

/** What {@link LeakyBuckets.incoming} returns for a request over `rate` + `burst`. */
export const REJECTED = -1;

/** Buckets keyed by string; each call passes the bucket's rate and burst. */
export interface LeakyBuckets {
  /**
   * Count a request against `key`: the seconds it should wait (0 when
   * within the rate), or {@link REJECTED}. `rate` is in requests per second
   * (> 0), `burst` in requests (≥ 0).
   */
  incoming(key: string, rate: number, burst: number): number | Promise<number>;
}

interface Bucket {
  /** Requests above the rate, as of `last`. */
  excess: number;
  /** When the excess was last updated, ms (the buckets' clock). */
  last: number;
  /** From then on the bucket is as good as absent (fully drained), ms. */
  drainedAt: number;
}

/** Below this many keys, growth alone never triggers a sweep. */
const MIN_SWEEP_SIZE = 1_024;
/** Keys a sweep looks at per event-loop turn, so a large map never stalls the worker. */
const SWEEP_SLICE = 4_096;
const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

export interface LocalLeakyBucketsOptions {
  /** Monotonic clock, ms (default `performance.now`); tests pass a fake one. */
  readonly now?: () => number;
  /** How often drained buckets are dropped, ms; 0 disables the timer (growth still sweeps). Default 10 s. */
  readonly sweepIntervalMs?: number;
}

/**
 * Buckets in one process. Memory stays bounded by the keys active within
 * their drain time: a background sweep, a slice per event-loop turn, drops
 * drained buckets whenever the map has doubled and every `sweepIntervalMs`.
 *
 * @example
 *   const buckets = new LocalLeakyBuckets();
 *   buckets.incoming('10.0.0.1', 1, 1); // 0: within the rate
 *   buckets.incoming('10.0.0.1', 1, 1); // ~1: wait a second
 *   buckets.incoming('10.0.0.1', 1, 1); // REJECTED: over the burst
 */
export class LocalLeakyBuckets implements LeakyBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout | undefined;
  #sweepAtSize = MIN_SWEEP_SIZE;
  #sweep: Iterator<[string, Bucket]> | undefined;

  constructor(options: LocalLeakyBucketsOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (interval > 0) {
      this.#timer = setInterval(() => this.#startSweep(), interval);
      this.#timer.unref();
    }
  }

  /** Buckets held, drained ones not yet swept included. */
  get size(): number {
    return this.#buckets.size;
  }

  incoming(key: string, rate: number, burst: number): number {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    let excess = 0;
    if (bucket !== undefined) {
      // abs(): as resty.limit.req, a clock step backwards counts as elapsed time, not as negative drain.
      excess = Math.max(bucket.excess - (rate * Math.abs(now - bucket.last)) / 1000 + 1, 0);
      if (excess > burst) return REJECTED;
    } else {
      if (this.#buckets.size >= this.#sweepAtSize) this.#startSweep();
      bucket = { excess: 0, last: 0, drainedAt: 0 };
      this.#buckets.set(key, bucket);
    }
    bucket.excess = excess;
    bucket.last = now;
    // After (excess + 1) / rate seconds the next request would start at zero again, as for a new key.
    bucket.drainedAt = now + ((excess + 1) / rate) * 1000;
    return excess / rate;
  }

  /** Stop the sweep timer. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#sweep = undefined;
  }

  #startSweep(): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = this.#buckets.entries();
    this.#sweepSlice();
  }

  readonly #sweepSlice = (): void => {
    const cursor = this.#sweep;
    if (cursor === undefined) return;
    const now = this.#now();
    for (let seen = 0; seen < SWEEP_SLICE; seen++) {
      const next = cursor.next();
      if (next.done === true) {
        this.#sweep = undefined;
        this.#sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.#buckets.size * 2);
        return;
      }
      const [key, bucket] = next.value;
      if (bucket.drainedAt <= now) this.#buckets.delete(key);
    }
    setImmediate(this.#sweepSlice).unref();
  };
}
