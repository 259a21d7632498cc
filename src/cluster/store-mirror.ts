/**
 * The primary's copy of a remote store's prefix (etcd), which the workers
 * read and watch instead of the remote store. One watch per node on etcd
 * (as APISIX keeps one per worker, fngate keeps one per node), and a worker
 * that starts or restarts while etcd is unreachable still gets the last good
 * configuration: workers never depend on etcd being up.
 *
 * Read-only: writes go to the remote store, and come back through its watch.
 */
import type { Logger } from '../log.js';
import {
  CompactedError,
  StoreReadOnlyError,
  type ConfigStore,
  type DeleteResult,
  type KeyValue,
  type PutResult,
  type RangeResult,
  type WatchBatch,
  type WatchHandle,
  type WatchOptions,
} from '../store/types.js';

interface Subscriber {
  readonly prefix: string;
  readonly options: WatchOptions;
  /** Next revision to deliver. */
  next: number;
}

/** Batches kept for workers that (re)start their watch from a past revision. */
const HISTORY_LIMIT = 10_000;

function byKey(a: KeyValue, b: KeyValue): number {
  const ka = Buffer.from(a.key);
  const kb = Buffer.from(b.key);
  return Buffer.compare(ka, kb);
}

/**
 * @example
 *   const mirror = await StoreMirror.start(etcdStore, '/apisix/', logger);
 *   new StoreRelay(mirror, worker, logger); // workers read the mirror
 */
export class StoreMirror implements ConfigStore {
  readonly backend: string;
  readonly readOnly = true;
  readonly #source: ConfigStore;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #kvs = new Map<string, KeyValue>();
  #revision = 0;
  /** Oldest revision a watch may start from (everything after it is in `#history`). */
  #oldest = 0;
  readonly #history: WatchBatch[] = [];
  readonly #subscribers = new Set<Subscriber>();
  #watch: WatchHandle | undefined;
  #closed = false;

  private constructor(source: ConfigStore, prefix: string, logger: Logger) {
    this.#source = source;
    this.backend = source.backend;
    this.#prefix = prefix;
    this.#logger = logger;
  }

  static async start(source: ConfigStore, prefix: string, logger: Logger): Promise<StoreMirror> {
    const mirror = new StoreMirror(source, prefix, logger);
    await mirror.#load();
    return mirror;
  }

  /** Full read of the prefix, then one watch from the next revision. */
  async #load(): Promise<void> {
    const { kvs, revision } = await this.#source.range(this.#prefix);
    this.#kvs.clear();
    for (const kv of kvs) this.#kvs.set(kv.key, kv);
    this.#revision = revision;
    this.#oldest = revision;
    this.#history.length = 0;
    this.#watch = this.#source.watch(this.#prefix, {
      fromRevision: revision + 1,
      onBatch: (batch) => this.#onBatch(batch),
      onError: (err) => this.#onError(err),
    });
  }

  #onBatch(batch: WatchBatch): void {
    for (const event of batch.events) {
      if (event.type === 'put') this.#kvs.set(event.kv.key, event.kv);
      else this.#kvs.delete(event.kv.key);
    }
    this.#revision = Math.max(this.#revision, batch.revision);
    this.#history.push(batch);
    if (this.#history.length > HISTORY_LIMIT) {
      const dropped = this.#history.shift() as WatchBatch;
      this.#oldest = dropped.revision;
    }
    for (const subscriber of this.#subscribers) this.#deliver(subscriber, batch);
  }

  /**
   * The remote watch ended: compaction (or the remote revision going back).
   * Re-read everything and make every worker re-read too.
   */
  #onError(err: Error): void {
    this.#watch = undefined;
    if (this.#closed) return;
    this.#logger.warn({ err: err.message }, 'store watch ended; re-reading the whole configuration');
    const ended = [...this.#subscribers];
    this.#subscribers.clear();
    const retry = (delayMs: number) => {
      this.#load().then(
        () => {
          for (const s of ended) s.options.onError?.(new CompactedError(s.next, this.#oldest + 1));
        },
        (loadErr: unknown) => {
          this.#logger.error({ err: (loadErr as Error).message, retry_in_ms: delayMs }, 're-read failed; retrying');
          setTimeout(() => retry(Math.min(delayMs * 2, 30_000)), delayMs).unref();
        },
      );
    };
    retry(500);
  }

  #deliver(subscriber: Subscriber, batch: WatchBatch): void {
    if (batch.revision < subscriber.next) return;
    const events = batch.events.filter((e) => e.kv.key.startsWith(subscriber.prefix));
    subscriber.next = batch.revision + 1;
    if (events.length > 0) subscriber.options.onBatch({ revision: batch.revision, events });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return this.#kvs.get(key);
  }

  async range(prefix: string): Promise<RangeResult> {
    const kvs = [...this.#kvs.values()].filter((kv) => kv.key.startsWith(prefix)).sort(byKey);
    return { revision: this.#revision, kvs };
  }

  async revision(): Promise<number> {
    return this.#revision;
  }

  put(): Promise<PutResult> {
    return Promise.reject(new StoreReadOnlyError('the store mirror is read-only'));
  }

  delete(): Promise<DeleteResult> {
    return Promise.reject(new StoreReadOnlyError('the store mirror is read-only'));
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    const from = options.fromRevision < 1 ? this.#revision + 1 : options.fromRevision;
    const subscriber: Subscriber = { prefix, options, next: from };
    if (from <= this.#oldest) {
      queueMicrotask(() => options.onError?.(new CompactedError(from, this.#oldest + 1)));
      return { cancel: () => undefined };
    }
    // Replay what the subscriber missed, asynchronously and in order, then go live.
    queueMicrotask(() => {
      if (this.#closed) return;
      for (const batch of this.#history) this.#deliver(subscriber, batch);
      this.#subscribers.add(subscriber);
    });
    return { cancel: () => this.#subscribers.delete(subscriber) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.cancel();
    this.#subscribers.clear();
  }
}
