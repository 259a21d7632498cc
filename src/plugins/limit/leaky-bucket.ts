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

import { SweptMap } from '../../util/swept-map.js';

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

export interface LocalLeakyBucketsOptions {
  /** Monotonic clock, ms (default `performance.now`); tests pass a fake one. */
  readonly now?: () => number;
  /** How often drained buckets are dropped, ms; 0 disables the timer (growth still sweeps). Default 10 s. */
  readonly sweepIntervalMs?: number;
}

/**
 * Buckets in one process. Memory stays bounded by the keys active within
 * their drain time: drained buckets are swept in the background
 * (util/swept-map.ts).
 *
 * @example
 *   const buckets = new LocalLeakyBuckets();
 *   buckets.incoming('10.0.0.1', 1, 1); // 0: within the rate
 *   buckets.incoming('10.0.0.1', 1, 1); // ~1: wait a second
 *   buckets.incoming('10.0.0.1', 1, 1); // REJECTED: over the burst
 */
export class LocalLeakyBuckets implements LeakyBuckets {
  readonly #buckets: SweptMap<Bucket>;
  readonly #now: () => number;

  constructor(options: LocalLeakyBucketsOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#buckets = new SweptMap<Bucket>({
      expired: (bucket, now) => bucket.drainedAt <= now,
      now: this.#now,
      ...(options.sweepIntervalMs !== undefined ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
    });
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
      bucket = this.#buckets.add(key, { excess: 0, last: 0, drainedAt: 0 });
    }
    bucket.excess = excess;
    bucket.last = now;
    // After (excess + 1) / rate seconds the next request would start at zero again, as for a new key.
    bucket.drainedAt = now + ((excess + 1) / rate) * 1000;
    return excess / rate;
  }

  /** Stop the sweep timer (and a running sweep). */
  close(): void {
    this.#buckets.close();
  }
}
