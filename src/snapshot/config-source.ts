/**
 * Follows the config store and publishes snapshots.
 *
 * Start: one range read of the prefix, build, then a single watch on the
 * prefix from the next revision (spec/config.md §5.3). Events arriving close
 * together are applied as they come but compiled once (the rebuild is
 * coalesced onto the next turn of the event loop). A compaction triggers a
 * full re-read; other watch failures are retried with capped, jittered
 * backoff while the last good snapshot keeps serving.
 */
import type { Logger } from '../log.js';
import type { ConfigStore, WatchBatch, WatchHandle } from '../store/types.js';
import { CompactedError } from '../store/types.js';
import { errorMessage } from '../errors.js';
import type { ConfigState } from './config-state.js';
import type { SnapshotBuilder } from './build.js';
import type { Snapshot } from './snapshot.js';

export type SnapshotListener = (snapshot: Snapshot) => void;

export interface ConfigSourceOptions {
  readonly store: ConfigStore;
  /** Key prefix, e.g. `/apisix`. */
  readonly prefix: string;
  readonly state: ConfigState;
  readonly builder: SnapshotBuilder;
  readonly logger: Logger;
  /** Backoff bounds for re-establishing a failed watch, in ms. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

export type SourceHealth = 'ok' | 'degraded';

export class ConfigSource {
  private snapshot: Snapshot | undefined;
  private readonly listeners = new Set<SnapshotListener>();
  private watch: WatchHandle | undefined;
  private rebuildScheduled = false;
  private closed = false;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Last watch/read error while degraded, for the status API. */
  lastError: string | undefined;

  constructor(private readonly options: ConfigSourceOptions) {
    this.retryDelay = options.retryMinMs ?? 200;
  }

  /** Load everything and start watching; resolves once the first snapshot exists. */
  async start(): Promise<Snapshot> {
    await this.fullLoad();
    const snapshot = this.snapshot;
    if (!snapshot) throw new Error('config source produced no snapshot');
    return snapshot;
  }

  /** The snapshot requests should use now. */
  current(): Snapshot {
    if (!this.snapshot) throw new Error('config source not started');
    return this.snapshot;
  }

  get health(): SourceHealth {
    return this.lastError === undefined ? 'ok' : 'degraded';
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.watch?.cancel();
    this.watch = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private prefixDir(): string {
    return this.options.prefix.endsWith('/') ? this.options.prefix : `${this.options.prefix}/`;
  }

  private async fullLoad(): Promise<void> {
    const { store, state } = this.options;
    const { kvs, revision } = await store.range(this.prefixDir());
    state.reset(kvs, revision);
    this.publish(this.options.builder.build(state, ALL_KINDS));
    state.takeChanged();
    this.startWatch(revision + 1);
  }

  private startWatch(fromRevision: number): void {
    if (this.closed) return;
    this.watch = this.options.store.watch(this.prefixDir(), {
      fromRevision,
      onBatch: (batch) => this.onBatch(batch),
      onError: (err) => this.onWatchError(err),
    });
  }

  private onBatch(batch: WatchBatch): void {
    let changed = false;
    for (const event of batch.events) {
      if (this.options.state.apply(event)) changed = true;
    }
    if (batch.revision > this.options.state.revision) this.options.state.revision = batch.revision;
    if (this.lastError !== undefined) {
      this.options.logger.info({ revision: batch.revision }, 'config watch recovered');
      this.lastError = undefined;
    }
    this.retryDelay = this.options.retryMinMs ?? 200;
    if (changed) this.scheduleRebuild();
  }

  private scheduleRebuild(): void {
    if (this.rebuildScheduled) return;
    this.rebuildScheduled = true;
    setImmediate(() => {
      this.rebuildScheduled = false;
      if (this.closed) return;
      const changed = this.options.state.takeChanged();
      if (changed.size === 0) return;
      try {
        this.publish(this.options.builder.build(this.options.state, changed));
      } catch (err) {
        // The previous snapshot keeps serving; a later change may fix it.
        this.options.logger.error({ err: errorMessage(err) }, 'failed to build config snapshot; keeping the previous one');
      }
    });
  }

  private onWatchError(err: Error): void {
    this.watch = undefined;
    if (this.closed) return;
    this.lastError = errorMessage(err);
    const compacted = err instanceof CompactedError;
    this.options.logger.warn(
      { err: this.lastError, revision: this.options.state.revision },
      compacted ? 'config watch compacted; reloading everything' : 'config watch failed; serving the last good config and retrying',
    );
    const delay = compacted ? 0 : this.nextDelay();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const reload = compacted ? this.fullLoad() : Promise.resolve(this.startWatch(this.options.state.revision + 1));
      reload.catch((e: unknown) => this.onWatchError(e instanceof Error ? e : new Error(String(e))));
    }, delay);
    this.retryTimer.unref();
  }

  private nextDelay(): number {
    const max = this.options.retryMaxMs ?? 10_000;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(max, this.retryDelay * 2);
    return delay / 2 + Math.random() * (delay / 2);
  }

  private publish(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.options.logger.error({ err: errorMessage(err) }, 'snapshot listener failed');
      }
    }
  }
}

const ALL_KINDS = new Set([
  'routes', 'services', 'upstreams', 'consumers', 'credentials', 'consumer_groups',
  'plugin_configs', 'global_rules', 'plugin_metadata', 'ssls',
] as const);
