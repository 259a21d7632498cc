/**
 * The in-memory engine every local backend is built from: the keyspace, the
 * watch history and the lease timers, kept in step by one `apply(change)`.
 * Backends differ only in how a change becomes committed before `apply`
 * (memory: immediately; embedded: after the log is fsync'd; standalone file:
 * when the file changes).
 */
import type { Logger } from '../log.js';
import type { Change } from './change.js';
import { Keyspace, type KeyspaceEntry, type Staging } from './keyspace.js';
import { LeaseTimers, type ExpireHandler } from './lease-timers.js';
import type { KeyValue, RangeResult, WatchEvent, WatchHandle, WatchOptions } from './types.js';
import { WatchHub } from './watch-hub.js';

export interface StoreCoreOptions {
  readonly logger: Logger;
  /** Past revisions kept for watches (default 10,000). */
  readonly historyLimit?: number;
  /** Called when a lease runs out; leases are tracked only when this is given. */
  readonly onLeaseExpired?: ExpireHandler;
}

/**
 * @example
 *   const core = new StoreCore({ logger, onLeaseExpired: (key, rev) => expire(key, rev) });
 *   const { change, result } = core.stage().put('/k', 'v', undefined, Date.now());
 *   core.apply(change);
 */
export class StoreCore {
  readonly #keyspace = new Keyspace();
  readonly #hub: WatchHub;
  readonly #leases: LeaseTimers | undefined;
  #leasesRunning = false;

  constructor(options: StoreCoreOptions) {
    this.#hub = new WatchHub({ logger: options.logger, historyLimit: options.historyLimit });
    this.#leases = options.onLeaseExpired ? new LeaseTimers(options.onLeaseExpired) : undefined;
  }

  get revision(): number {
    return this.#keyspace.revision;
  }

  get(key: string): KeyValue | undefined {
    return this.#keyspace.get(key);
  }

  range(prefix: string): RangeResult {
    return { revision: this.#keyspace.revision, kvs: this.#keyspace.range(prefix) };
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    return this.#hub.watch(prefix, options, this.#keyspace.revision);
  }

  /** Evaluate writes (CAS, revisions) without applying them. */
  stage(): Staging {
    return this.#keyspace.stage();
  }

  /** Commit a change: state, watch history and lease timer move together. */
  apply(change: Change): WatchEvent {
    const event = this.#keyspace.apply(change);
    this.#hub.publish(event);
    if (this.#leasesRunning && this.#leases) {
      if (change.op === 'put' && change.expiresAt !== undefined) this.#leases.arm(change.key, change.expiresAt, change.revision);
      else this.#leases.disarm(change.key);
    }
    return event;
  }

  /** Keys in order with their lease expiry, for snapshots. */
  entries(): IterableIterator<KeyspaceEntry> {
    return this.#keyspace.entries();
  }

  /** Keys with a lease and their absolute expiry. */
  expiries(): ReadonlyMap<string, number> {
    return this.#keyspace.expiries();
  }

  /** Load a snapshot; history restarts after `revision`. Call before `startLeases`. */
  restore(entries: Iterable<KeyspaceEntry>, revision: number): void {
    this.#keyspace.restore(entries, revision);
    this.#hub.resetHistory(revision);
  }

  /**
   * Arms a timer for every key with a lease and for each later leased put.
   * Separate from construction so a recovering backend can replay its log
   * first without timers firing mid-replay.
   */
  startLeases(): void {
    if (!this.#leases || this.#leasesRunning) return;
    this.#leasesRunning = true;
    for (const [key, expiresAt] of this.#keyspace.expiries()) {
      const kv = this.#keyspace.get(key) as KeyValue;
      this.#leases.arm(key, expiresAt, kv.modRevision);
    }
  }

  /** Stops lease timers and ends watches without onError. */
  close(): void {
    this.#leasesRunning = false;
    this.#leases?.clear();
    this.#hub.closeAll();
  }
}
