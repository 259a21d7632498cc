/**
 * The config store as a data-plane worker sees it: a read-only
 * {@link ConfigStore} whose reads and watches are served by the primary
 * process over IPC. Workers never write (the Admin API runs in the primary),
 * and whatever the backend (embedded, standalone file, etcd), every worker
 * follows the same single source through the same interface.
 */
import { CompactedError, StoreReadOnlyError, StoreUnavailableError } from '../store/types.js';
import type {
  ConfigStore,
  DeleteResult,
  KeyValue,
  PutResult,
  RangeResult,
  WatchHandle,
  WatchOptions,
} from '../store/types.js';
import type { PrimaryMessage, StoreCall, StoreCallResult, WireError, WorkerMessage } from './messages.js';

/** The IPC endpoint: `process` in a cluster worker. */
export interface IpcChannel {
  send(message: WorkerMessage): unknown;
}

function fromWire(error: WireError): Error {
  if (error.code === 'STORE_COMPACTED' && error.requested !== undefined && error.oldest !== undefined) {
    return new CompactedError(error.requested, error.oldest);
  }
  return new StoreUnavailableError(error.message);
}

/**
 * @example
 *   const store = new RemoteStore(process as IpcChannel);
 *   process.on('message', (m) => store.receive(m));
 */
export class RemoteStore implements ConfigStore {
  readonly backend = 'primary';
  readonly readOnly = true;
  #nextId = 1;
  #closed = false;
  readonly #calls = new Map<number, { resolve: (v: StoreCallResult) => void; reject: (e: Error) => void }>();
  readonly #watches = new Map<number, WatchOptions>();

  constructor(private readonly channel: IpcChannel) {}

  /** Feed every message from the primary here; store messages are consumed, others ignored. */
  receive(message: PrimaryMessage): void {
    switch (message.t) {
      case 'store.result': {
        const pending = this.#calls.get(message.id);
        if (!pending) return;
        this.#calls.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(fromWire(message.error));
        return;
      }
      case 'store.batch':
        this.#watches.get(message.watchId)?.onBatch(message.batch);
        return;
      case 'store.watchError': {
        const watch = this.#watches.get(message.watchId);
        this.#watches.delete(message.watchId);
        watch?.onError?.(fromWire(message.error));
        return;
      }
      default:
        return;
    }
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#call({ op: 'get', key }) as Promise<KeyValue | undefined>;
  }

  range(prefix: string): Promise<RangeResult> {
    return this.#call({ op: 'range', prefix }) as Promise<RangeResult>;
  }

  revision(): Promise<number> {
    return this.#call({ op: 'revision' }) as Promise<number>;
  }

  put(): Promise<PutResult> {
    return Promise.reject(new StoreReadOnlyError('workers do not write the config store'));
  }

  delete(): Promise<DeleteResult> {
    return Promise.reject(new StoreReadOnlyError('workers do not write the config store'));
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    const watchId = this.#nextId++;
    this.#watches.set(watchId, options);
    this.channel.send({ t: 'store.watch', watchId, prefix, fromRevision: options.fromRevision });
    return {
      cancel: () => {
        if (this.#watches.delete(watchId) && !this.#closed) this.channel.send({ t: 'store.unwatch', watchId });
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watches.clear();
    for (const pending of this.#calls.values()) pending.reject(new StoreUnavailableError('store closed'));
    this.#calls.clear();
  }

  #call(call: StoreCall): Promise<StoreCallResult> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('store closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.channel.send({ t: 'store.call', id, call });
    });
  }
}
