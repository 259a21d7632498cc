/**
 * One unref'd timer per key with a lease, so expiry never keeps the process
 * alive. The timer only reports; the backend turns the report into a normal
 * delete (compare-and-swap on the mod revision, so a key rewritten in the
 * meantime is left alone).
 */

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); longer leases re-arm. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export type ExpireHandler = (key: string, modRevision: number) => void;

/**
 * @example
 *   const timers = new LeaseTimers((key, rev) => store.delete(key, { ifModRevision: rev }));
 *   timers.arm('/apisix/routes/1', Date.now() + 30_000, 7);
 */
export class LeaseTimers {
  readonly #onExpire: ExpireHandler;
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(onExpire: ExpireHandler) {
    this.#onExpire = onExpire;
  }

  get size(): number {
    return this.#timers.size;
  }

  /** (Re)arms the timer of `key`; an already passed expiry fires on the next turn. */
  arm(key: string, expiresAt: number, modRevision: number): void {
    this.disarm(key);
    const delay = Math.max(0, expiresAt - Date.now());
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      if (delay > MAX_TIMER_DELAY_MS) this.arm(key, expiresAt, modRevision);
      else this.#onExpire(key, modRevision);
    }, Math.min(delay, MAX_TIMER_DELAY_MS));
    timer.unref();
    this.#timers.set(key, timer);
  }

  disarm(key: string): void {
    const timer = this.#timers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(key);
  }

  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
