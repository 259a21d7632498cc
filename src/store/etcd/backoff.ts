/**
 * Delays between reconnection attempts to etcd. APISIX waits `resync_delay`
 * seconds plus up to 50 % random jitter after a sync error (spec/config.md §2);
 * fngate starts there and doubles the delay on each further failure, up to a
 * cap, so a long outage is not met by every gateway retrying at a fixed beat.
 */

/** The longest pause between attempts unless `resync_delay` itself is longer. */
export const MAX_RETRY_DELAY_MS = 30_000;

/** `resync_delay: 0` is valid config; without a floor a down etcd would be retried in a tight loop. */
export const MIN_RETRY_DELAY_MS = 50;

/**
 * @example
 *   const backoff = new Backoff(5_000);
 *   setTimeout(reconnect, backoff.next()); // 5–7.5 s, then 10–15 s, ... up to 30–45 s
 *   backoff.reset();                        // after a success
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  #failures = 0;

  /** @param random injectable for tests; returns [0, 1). */
  constructor(baseMs: number, random: () => number = Math.random) {
    this.#baseMs = Math.max(MIN_RETRY_DELAY_MS, baseMs);
    this.#capMs = Math.max(this.#baseMs, MAX_RETRY_DELAY_MS);
    this.#random = random;
  }

  /** Failures since the last {@link reset}. */
  get failures(): number {
    return this.#failures;
  }

  /** The pause before the next attempt; each call counts one more failure. */
  next(): number {
    const exponent = Math.min(this.#failures, 30);
    this.#failures++;
    const delay = Math.min(this.#capMs, this.#baseMs * 2 ** exponent);
    return Math.round(delay * (1 + this.#random() / 2));
  }

  reset(): void {
    this.#failures = 0;
  }
}
