/**
 * A Map whose expired entries are dropped in the background, for per-key
 * limiter state (limit-count's windows, limit-req's buckets) whose keys come
 * and go with clients. Memory stays bounded by the keys alive: a sweep runs
 * whenever the map has doubled since the last one (amortised O(1) per new
 * key) and every `sweepIntervalMs`, and walks the map a slice per event-loop
 * turn, so a million keys never stall the process.
 */

/** Below this many keys, growth alone never triggers a sweep. */
const MIN_SWEEP_SIZE = 1_024;
/**
 * Keys a sweep looks at per event-loop turn: a turn takes < 1 ms walking
 * live keys, and 1–15 ms when dropping expired ones (the worst is the Map
 * shrinking its table). The primary answers every worker's counters, so
 * that bound is what keeps it well inside the workers' timeout.
 */
const SWEEP_SLICE = 4_096;
const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

export interface SweptMapOptions<V> {
  /** Whether `value` may be dropped at `now`. */
  readonly expired: (value: V, now: number) => boolean;
  /** The clock `expired` is judged by. */
  readonly now: () => number;
  /** How often to sweep even when no new keys arrive, ms; 0 disables the timer. Default 10 s. */
  readonly sweepIntervalMs?: number;
}

/** A background sweep in progress. */
interface Sweep<V> {
  /** Where it is: Map iterators stay valid across deletes and inserts. */
  readonly cursor: Iterator<[string, V]>;
  dropped: number;
  readonly done: Promise<number>;
  readonly finish: (dropped: number) => void;
  turn: NodeJS.Immediate | undefined;
}

/**
 * @example
 *   const windows = new SweptMap<Window>({ expired: (w, now) => w.expiresAt <= now, now: Date.now });
 *   windows.get(key) ?? windows.add(key, { count: 0, expiresAt: 0 });
 */
export class SweptMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #expired: (value: V, now: number) => boolean;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout | undefined;
  #sweepAtSize = MIN_SWEEP_SIZE;
  #sweeping: Sweep<V> | undefined;

  constructor(options: SweptMapOptions<V>) {
    this.#expired = options.expired;
    this.#now = options.now;
    const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.sweep(), interval);
      this.#timer.unref();
    }
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Add a key that is not in the map; returns `value`. May start a sweep. */
  add(key: string, value: V): V {
    if (this.#entries.size >= this.#sweepAtSize) void this.sweep();
    this.#entries.set(key, value);
    return value;
  }

  /**
   * Drop expired entries, {@link SWEEP_SLICE} per event-loop turn (the first
   * slice at once); resolves with how many were dropped. A call while a
   * sweep runs joins it.
   */
  sweep(): Promise<number> {
    if (this.#sweeping) return this.#sweeping.done;
    let finish: (dropped: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => { finish = resolve; });
    this.#sweeping = { cursor: this.#entries.entries(), dropped: 0, done, finish, turn: undefined };
    this.#sweepSlice();
    return done;
  }

  /** Stop the timer and a running sweep (which resolves with what it dropped so far). The map stays usable. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    const sweeping = this.#sweeping;
    if (sweeping === undefined) return;
    this.#sweeping = undefined;
    if (sweeping.turn) clearImmediate(sweeping.turn);
    sweeping.finish(sweeping.dropped);
  }

  readonly #sweepSlice = (): void => {
    const sweeping = this.#sweeping;
    if (sweeping === undefined) return;
    const now = this.#now();
    for (let seen = 0; seen < SWEEP_SLICE; seen++) {
      const next = sweeping.cursor.next();
      if (next.done === true) {
        this.#sweeping = undefined;
        this.#sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.#entries.size * 2);
        sweeping.finish(sweeping.dropped);
        return;
      }
      const [key, value] = next.value;
      if (this.#expired(value, now)) {
        this.#entries.delete(key);
        sweeping.dropped++;
      }
    }
    // Ref'd: a sweep ends within size / SWEEP_SLICE turns, and whoever awaits it must see it finish.
    sweeping.turn = setImmediate(this.#sweepSlice);
  };
}
