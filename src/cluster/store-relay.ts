/**
 * The primary's side of {@link RemoteStore}: answers a worker's store reads
 * and relays watches from the real store, one relay per worker.
 */
import type { Logger } from '../log.js';
import type { ConfigStore, WatchHandle } from '../store/types.js';
import { toWireError, type PrimaryMessage, type StoreCall, type StoreCallResult, type WorkerMessage } from './messages.js';

export interface RelayTarget {
  /** False once the worker is gone: nothing more is sent. */
  isConnected(): boolean;
  send(message: PrimaryMessage): unknown;
}

export class StoreRelay {
  readonly #watches = new Map<number, WatchHandle>();

  constructor(
    private readonly store: ConfigStore,
    private readonly target: RelayTarget,
    private readonly logger: Logger,
  ) {}

  /** Handle one worker message; returns false when it was not a store message. */
  handle(message: WorkerMessage): boolean {
    switch (message.t) {
      case 'store.call':
        this.#answer(message.id, message.call);
        return true;
      case 'store.watch':
        this.#watch(message.watchId, message.prefix, message.fromRevision);
        return true;
      case 'store.unwatch':
        this.#watches.get(message.watchId)?.cancel();
        this.#watches.delete(message.watchId);
        return true;
      default:
        return false;
    }
  }

  /** The worker is gone: stop every watch it had. */
  close(): void {
    for (const handle of this.#watches.values()) handle.cancel();
    this.#watches.clear();
  }

  #send(message: PrimaryMessage): void {
    if (!this.target.isConnected()) return;
    try {
      this.target.send(message);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'failed to send to worker');
    }
  }

  #answer(id: number, call: StoreCall): void {
    let pending: Promise<StoreCallResult>;
    switch (call.op) {
      case 'get':
        pending = this.store.get(call.key);
        break;
      case 'range':
        pending = this.store.range(call.prefix);
        break;
      case 'revision':
        pending = this.store.revision();
        break;
    }
    pending.then(
      (value) => this.#send({ t: 'store.result', id, ok: true, value }),
      (err: unknown) => this.#send({ t: 'store.result', id, ok: false, error: toWireError(err) }),
    );
  }

  #watch(watchId: number, prefix: string, fromRevision: number): void {
    const handle = this.store.watch(prefix, {
      fromRevision,
      onBatch: (batch) => this.#send({ t: 'store.batch', watchId, batch }),
      onError: (err) => {
        this.#watches.delete(watchId);
        this.#send({ t: 'store.watchError', watchId, error: toWireError(err) });
      },
    });
    this.#watches.set(watchId, handle);
  }
}
