/**
 * The health of one target (an address probed and reported on), counted as
 * lua-resty-healthcheck counts it, which APISIX uses:
 *
 * - Four internal states: `healthy`, `mostly_healthy` (healthy, failures
 *   are being counted), `mostly_unhealthy` (unhealthy, successes are being
 *   counted) and `unhealthy`. Only the first two route traffic.
 * - A success clears the failure counters; a failure clears the success
 *   counter (failures of different kinds do not clear each other).
 * - A counter reaching its limit moves the target all the way to that side
 *   and clears every counter; a limit of 0 disables that counter.
 * - Nothing is counted in the direction the target already fully is.
 *
 * Targets start healthy. Active and passive results share the counters;
 * each side brings its own limits.
 */

/** Kinds of result a check reports. */
export type CheckResult = 'success' | 'http_failure' | 'tcp_failure' | 'timeout';

const HEALTHY = 0;
const MOSTLY_HEALTHY = 1;
const MOSTLY_UNHEALTHY = 2;
const UNHEALTHY = 3;

const STATE_NAMES = ['healthy', 'mostly_healthy', 'mostly_unhealthy', 'unhealthy'] as const;
export type TargetState = (typeof STATE_NAMES)[number];

/**
 * @example
 *   const health = new TargetHealth();
 *   health.record('tcp_failure', 2); // false: mostly_healthy, still healthy
 *   health.record('tcp_failure', 2); // true: unhealthy now
 *   health.healthy;                  // false
 */
export class TargetHealth {
  #state = HEALTHY;
  #successes = 0;
  #httpFailures = 0;
  #tcpFailures = 0;
  #timeouts = 0;

  /** Routes traffic (healthy or mostly healthy). */
  get healthy(): boolean {
    return this.#state <= MOSTLY_HEALTHY;
  }

  get state(): TargetState {
    return STATE_NAMES[this.#state]!;
  }

  /**
   * Count one result against `limit`, the threshold of its kind. Returns
   * true when this flipped {@link healthy}.
   */
  record(result: CheckResult, limit: number): boolean {
    if (limit <= 0) return false;
    const success = result === 'success';
    if (success ? this.#state === HEALTHY : this.#state === UNHEALTHY) return false;
    const wasHealthy = this.healthy;
    let count: number;
    if (success) {
      this.#httpFailures = 0;
      this.#tcpFailures = 0;
      this.#timeouts = 0;
      count = ++this.#successes;
    } else {
      this.#successes = 0;
      count = result === 'http_failure' ? ++this.#httpFailures : result === 'tcp_failure' ? ++this.#tcpFailures : ++this.#timeouts;
    }
    if (count >= limit) {
      this.#state = success ? HEALTHY : UNHEALTHY;
      this.#successes = 0;
      this.#httpFailures = 0;
      this.#tcpFailures = 0;
      this.#timeouts = 0;
    } else if (success && this.#state === UNHEALTHY) {
      this.#state = MOSTLY_UNHEALTHY;
    } else if (!success && this.#state === HEALTHY) {
      this.#state = MOSTLY_HEALTHY;
    }
    return this.healthy !== wasHealthy;
  }
}
