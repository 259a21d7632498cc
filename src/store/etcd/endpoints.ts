/**
 * The etcd endpoints of `deployment.etcd.host` and which one to try first.
 * Like APISIX's etcd client, a request goes to a healthy endpoint; one that
 * failed is skipped for `health_check_timeout` seconds while another one is
 * still healthy (spec/config.md §2). The endpoint that last answered stays
 * preferred, so a cluster is not spread over for no reason.
 */

interface Slot<T> {
  readonly endpoint: T;
  /** ms since the epoch until which the endpoint counts as down; 0 = healthy. */
  downUntil: number;
}

/**
 * @example
 *   const ring = new EndpointRing(['http://etcd-1:2379', 'http://etcd-2:2379'], 10_000);
 *   for (const origin of ring.order(Date.now())) { ... ring.markDown(origin, Date.now()); ... }
 */
export class EndpointRing<T> {
  readonly #slots: Slot<T>[];
  readonly #downForMs: number;
  #preferred = 0;

  constructor(endpoints: readonly T[], downForMs: number) {
    if (endpoints.length === 0) throw new RangeError('at least one etcd endpoint is required');
    this.#slots = endpoints.map((endpoint) => ({ endpoint, downUntil: 0 }));
    this.#downForMs = downForMs;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Every endpoint, in configured order. */
  all(): T[] {
    return this.#slots.map((slot) => slot.endpoint);
  }

  /**
   * Every endpoint once, in the order to try them: the preferred one, then the
   * others that are healthy, then those marked down, soonest to recover first
   * (a request is never refused only because all endpoints recently failed).
   */
  order(now: number): T[] {
    const healthy: T[] = [];
    const down: Slot<T>[] = [];
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[(this.#preferred + i) % this.#slots.length] as Slot<T>;
      if (slot.downUntil <= now) healthy.push(slot.endpoint);
      else down.push(slot);
    }
    down.sort((a, b) => a.downUntil - b.downUntil);
    for (const slot of down) healthy.push(slot.endpoint);
    return healthy;
  }

  /** Skip `endpoint` for the configured time. Returns true when it was healthy until now. */
  markDown(endpoint: T, now: number): boolean {
    const slot = this.#slot(endpoint);
    const wasHealthy = slot.downUntil <= now;
    slot.downUntil = now + this.#downForMs;
    return wasHealthy;
  }

  /** `endpoint` answered: healthy, and the first one to try from now on. */
  markUp(endpoint: T): void {
    const slot = this.#slot(endpoint);
    slot.downUntil = 0;
    this.#preferred = this.#slots.indexOf(slot);
  }

  #slot(endpoint: T): Slot<T> {
    const slot = this.#slots.find((s) => s.endpoint === endpoint);
    if (!slot) throw new RangeError('unknown etcd endpoint');
    return slot;
  }
}
