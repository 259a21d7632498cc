/**
 * Watch delivery for the local backends: a bounded history of recent events
 * (so a watch can start from a past revision) and the registered watchers.
 *
 * Every revision carries exactly one event here (one put or delete per
 * revision), so the history is a ring buffer indexed by revision arithmetic.
 * Delivery is always asynchronous (a microtask after the write), in revision
 * order, each watcher receiving what accumulated since its last batch.
 */
import type { Logger } from '../log.js';
import { CompactedError, type WatchEvent, type WatchHandle, type WatchOptions } from './types.js';

interface Watcher {
  readonly prefix: string;
  readonly fromRevision: number;
  readonly options: WatchOptions;
  queue: WatchEvent[];
  active: boolean;
}

export interface WatchHubOptions {
  /** How many past revisions a watch may start from (default 10,000). */
  readonly historyLimit?: number;
  readonly logger: Logger;
}

export const DEFAULT_HISTORY_LIMIT = 10_000;


/**
 * @example
 *   const hub = new WatchHub({ logger });
 *   hub.watch('/apisix/', { fromRevision: 2, onBatch: (b) => apply(b.events) }, currentRevision);
 *   hub.publish(event); // delivered in a microtask
 */
export class WatchHub {
  readonly #logger: Logger;
  readonly #capacity: number;
  readonly #ring: (WatchEvent | undefined)[];
  #head = 0;
  #size = 0;
  /** Smallest revision a watch may start from; events before it are gone. */
  #firstKept = 1;
  readonly #watchers = new Set<Watcher>();
  #pending: Watcher[] = [];
  #flushScheduled = false;

  constructor(options: WatchHubOptions) {
    this.#logger = options.logger;
    this.#capacity = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(this.#capacity) || this.#capacity < 1) throw new RangeError('historyLimit must be a positive integer');
    this.#ring = new Array<WatchEvent | undefined>(this.#capacity);
  }

  /** Smallest revision a new watch may start from without a {@link CompactedError}. */
  get firstKeptRevision(): number {
    return this.#firstKept;
  }

  /** Forgets the history: after loading a snapshot at `revision`, only later changes can be watched. */
  resetHistory(revision: number): void {
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    this.#firstKept = revision + 1;
  }

  /** Records the event of the next revision and queues it for matching watchers. */
  publish(event: WatchEvent): void {
    const revision = event.kv.modRevision;
    if (this.#size === this.#capacity) {
      this.#ring[this.#head] = event;
      this.#head = (this.#head + 1) % this.#capacity;
      this.#firstKept = (this.#ring[this.#head] as WatchEvent).kv.modRevision;
    } else {
      this.#ring[(this.#head + this.#size) % this.#capacity] = event;
      this.#size++;
    }
    for (const watcher of this.#watchers) {
      if (revision >= watcher.fromRevision && event.kv.key.startsWith(watcher.prefix)) this.#enqueue(watcher, event);
    }
  }

  /**
   * Registers a watch. `currentRevision` is the store revision the history
   * ends at; a `fromRevision` below 1 means "from the next revision", as in etcd.
   */
  watch(prefix: string, options: WatchOptions, currentRevision: number): WatchHandle {
    const fromRevision = options.fromRevision < 1 ? currentRevision + 1 : options.fromRevision;
    if (fromRevision < this.#firstKept) {
      const error = new CompactedError(fromRevision, this.#firstKept);
      return failedWatch(options, error, this.#logger);
    }
    const watcher: Watcher = { prefix, fromRevision, options, queue: [], active: true };
    this.#watchers.add(watcher);
    this.#replay(watcher);
    return {
      cancel: () => {
        watcher.active = false;
        this.#watchers.delete(watcher);
      },
    };
  }

  /** Ends every watch without calling onError (the store is closing). */
  closeAll(): void {
    for (const watcher of this.#watchers) watcher.active = false;
    this.#watchers.clear();
    this.#pending = [];
  }

  #replay(watcher: Watcher): void {
    if (this.#size === 0) return;
    const oldest = (this.#ring[this.#head] as WatchEvent).kv.modRevision;
    for (let i = Math.max(0, watcher.fromRevision - oldest); i < this.#size; i++) {
      const event = this.#ring[(this.#head + i) % this.#capacity] as WatchEvent;
      if (event.kv.key.startsWith(watcher.prefix)) this.#enqueue(watcher, event);
    }
  }

  #enqueue(watcher: Watcher, event: WatchEvent): void {
    if (watcher.queue.length === 0) this.#pending.push(watcher);
    watcher.queue.push(event);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    for (const watcher of pending) {
      const events = watcher.queue;
      watcher.queue = [];
      if (!watcher.active || events.length === 0) continue;
      const revision = (events[events.length - 1] as WatchEvent).kv.modRevision;
      this.#guard(() => watcher.options.onBatch({ revision, events }));
    }
  };

  /** A throwing callback must not break delivery to the other watchers. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err }, 'watch callback threw');
    }
  }
}

/**
 * The handle of a watch that cannot start (compacted revision, closed store):
 * reports `error` once, asynchronously like any delivery, unless cancelled first.
 *
 * @example
 *   return failedWatch(options, new StoreUnavailableError('the store is closed'), logger);
 */
export function failedWatch(options: WatchOptions, error: Error, logger: Logger): WatchHandle {
  let cancelled = false;
  queueMicrotask(() => {
    if (cancelled) return;
    if (!options.onError) {
      logger.warn({ err: error }, 'watch failed and has no onError handler');
      return;
    }
    try {
      options.onError(error);
    } catch (err) {
      logger.error({ err }, 'watch callback threw');
    }
  });
  return { cancel: () => { cancelled = true; } };
}
