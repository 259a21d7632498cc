/**
 * MemoryStore: the {@link ConfigStore} contract held in process memory only.
 * For tests and for deployments that rebuild config on every start. Writes are
 * committed the moment they are evaluated; everything else lives in
 * {@link StoreCore}, which the durable embedded store shares.
 */
import { silentLogger, type Logger } from '../log.js';
import { StoreCore } from './core.js';
import { failedWatch } from './watch-hub.js';
import {
  CasConflictError,
  StoreUnavailableError,
  type ConfigStore,
  type DeleteOptions,
  type DeleteResult,
  type KeyValue,
  type PutOptions,
  type PutResult,
  type RangeResult,
  type WatchHandle,
  type WatchOptions,
} from './types.js';

export interface MemoryStoreOptions {
  readonly logger?: Logger;
  /** Past revisions a watch may start from (default 10,000). */
  readonly historyLimit?: number;
}

/**
 * @example
 *   const store = new MemoryStore();
 *   const { revision } = await store.put('/apisix/routes/1', '{"uri":"/a"}');
 *   store.watch('/apisix/', { fromRevision: revision + 1, onBatch: (b) => console.log(b.events) });
 */
export class MemoryStore implements ConfigStore {
  readonly backend = 'memory';
  readonly readOnly = false;
  readonly #logger: Logger;
  readonly #core: StoreCore;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#logger = options.logger ?? silentLogger;
    this.#core = new StoreCore({
      logger: this.#logger,
      historyLimit: options.historyLimit,
      onLeaseExpired: (key, modRevision) => this.#expire(key, modRevision),
    });
    this.#core.startLeases();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#assertOpen();
    return this.#core.get(key);
  }

  async range(prefix: string): Promise<RangeResult> {
    this.#assertOpen();
    return this.#core.range(prefix);
  }

  async revision(): Promise<number> {
    this.#assertOpen();
    return this.#core.revision;
  }

  async put(key: string, value: string, options?: PutOptions): Promise<PutResult> {
    this.#assertOpen();
    const { change, result } = this.#core.stage().put(key, value, options, Date.now());
    this.#core.apply(change);
    return result;
  }

  async delete(key: string, options?: DeleteOptions): Promise<DeleteResult> {
    this.#assertOpen();
    const { change, result } = this.#core.stage().delete(key, options);
    if (change) this.#core.apply(change);
    return result;
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    if (this.#closed) return failedWatch(options, new StoreUnavailableError('the memory store is closed'), this.#logger);
    return this.#core.watch(prefix, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.close();
  }

  #expire(key: string, modRevision: number): void {
    if (this.#closed) return;
    this.delete(key, { ifModRevision: modRevision }).catch((err: unknown) => {
      if (!(err instanceof CasConflictError)) this.#logger.error({ err, key }, 'lease expiry failed');
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the memory store is closed');
  }
}
