/**
 * EmbeddedStore: the default, durable single-process backend. State lives in
 * memory ({@link StoreCore}); every write is appended to a write-ahead log and
 * fdatasync'd before its promise resolves, so a write the Admin API answered
 * survives `kill -9` and power loss. Reads never touch the disk.
 *
 * Writes go through one commit loop (group commit): the requests that arrived
 * while the previous fsync ran are evaluated together against the committed
 * state (compare-and-swap, revisions), logged with one write and one fsync,
 * and only then applied and answered. Readers and watchers therefore never see
 * a write that a crash could still take back.
 *
 * When the log outgrows a threshold, the loop writes a snapshot and starts a
 * new log, so recovery time and disk use stay bounded.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { silentLogger, type Logger } from '../../log.js';
import { errorMessage } from '../../errors.js';
import type { Change } from '../change.js';
import { StoreCore } from '../core.js';
import type { Staging } from '../keyspace.js';
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
} from '../types.js';
import { failedWatch } from '../watch-hub.js';
import { DIR_MODE, fsyncDir, parseWalFileName, walFileName } from './files.js';
import { encodeFrame } from './frame.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { encodeChange } from './records.js';
import { recover } from './recovery.js';
import { installSnapshot, writeSnapshotTemp } from './snapshot.js';
import { WalWriter } from './wal.js';

export const DEFAULT_COMPACT_AFTER_BYTES = 4 * 1024 * 1024;

export interface EmbeddedStoreOptions {
  /** Data directory; created with mode 0700 when missing. */
  readonly dir: string;
  readonly logger?: Logger;
  /** Past revisions a watch may start from (default 10,000). */
  readonly historyLimit?: number;
  /**
   * Compact once the log holds this many bytes (default 4 MiB), or the size
   * of the last snapshot if that is larger, which bounds the extra writing
   * that compaction adds to at most the data written.
   */
  readonly compactAfterBytes?: number;
}

/** A queued write: staged by the commit loop, answered once durable. */
interface WriteRequest {
  /** Evaluates the write; throws CasConflictError. `answer` settles the caller's promise. */
  stage(staging: Staging, now: number): { readonly change: Change | undefined; readonly answer: () => void };
  reject(err: unknown): void;
}

/**
 * Opens (creating if needed) the store in `dir`: takes the directory lock,
 * recovers snapshot and log, deletes keys whose lease ran out while the
 * process was down, then starts lease timers.
 *
 * @example
 *   const store = await openEmbeddedStore({ dir: '/var/lib/fngate', logger });
 *   await store.put('/apisix/routes/1', '{"uri":"/hello"}'); // durable on return
 * @throws StoreLockedError when another live process owns the directory.
 * @throws StoreCorruptError when the data cannot be trusted.
 */
export function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  return EmbeddedStore.open(options);
}

export class EmbeddedStore implements ConfigStore {
  readonly backend = 'embedded';
  readonly readOnly = false;
  readonly dir: string;
  readonly #logger: Logger;
  readonly #lock: DirLock;
  readonly #core: StoreCore;
  readonly #compactAfterBytes: number;
  #writer: WalWriter | undefined;
  #walSeq = 0;
  #snapshotBytes = 0;
  /** After a failed compaction, do not retry before the log reaches this size. */
  #compactionBackoffBytes = 0;

  #queue: WriteRequest[] = [];
  #committing = false;
  #drained: Promise<void> = Promise.resolve();
  /** Set when a write could not be made durable; the store then refuses writes. */
  #failure: StoreUnavailableError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** See {@link openEmbeddedStore}. */
  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    const dir = resolve(options.dir);
    const logger = (options.logger ?? silentLogger).child({ module: 'store', backend: 'embedded' });
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const lock = await acquireDirLock(dir, logger);
    const store = new EmbeddedStore(dir, logger, lock, options);
    try {
      await store.#recover();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private constructor(dir: string, logger: Logger, lock: DirLock, options: EmbeddedStoreOptions) {
    this.dir = dir;
    this.#logger = logger;
    this.#lock = lock;
    this.#compactAfterBytes = options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
    this.#core = new StoreCore({
      logger,
      historyLimit: options.historyLimit,
      onLeaseExpired: (key, modRevision) => this.#expire(key, modRevision),
    });
  }

  async #recover(): Promise<void> {
    const started = performance.now();
    const recovered = await recover(this.dir, this.#core, this.#logger);
    this.#writer = recovered.writer;
    this.#walSeq = recovered.walSeq;
    this.#snapshotBytes = recovered.snapshotBytes;

    // Leases are absolute wall-clock times: what ran out while we were down goes now, as normal deletes.
    const now = Date.now();
    const overdue = [...this.#core.expiries()].filter(([, expiresAt]) => expiresAt <= now).map(([key]) => key);
    await Promise.all(overdue.map((key) => this.#expireNow(key)));
    this.#core.startLeases();

    this.#logger.info(
      {
        dir: this.dir,
        revision: this.#core.revision,
        replayedRecords: recovered.replayedRecords,
        expiredKeys: overdue.length,
        ms: Math.round(performance.now() - started),
      },
      'embedded store opened',
    );
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

  watch(prefix: string, options: WatchOptions): WatchHandle {
    if (this.#closed) return failedWatch(options, new StoreUnavailableError('the embedded store is closed'), this.#logger);
    return this.#core.watch(prefix, options);
  }

  put(key: string, value: string, options?: PutOptions): Promise<PutResult> {
    return new Promise((resolve, reject) => {
      this.#submit({
        stage: (staging, now) => {
          const staged = staging.put(key, value, options, now);
          return { change: staged.change, answer: () => resolve(staged.result) };
        },
        reject,
      });
    });
  }

  delete(key: string, options?: DeleteOptions): Promise<DeleteResult> {
    return new Promise((resolve, reject) => {
      this.#submit({
        stage: (staging) => {
          const staged = staging.delete(key, options);
          return { change: staged.change, answer: () => resolve(staged.result) };
        },
        reject,
      });
    });
  }

  /** Commits the writes already queued, then releases the log, the watches and the lock. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    await this.#drained;
    this.#core.close();
    try {
      await this.#writer?.close();
    } finally {
      await this.#lock.release();
    }
  }

  #submit(request: WriteRequest): void {
    if (this.#closed) return request.reject(new StoreUnavailableError('the embedded store is closed'));
    if (this.#failure) return request.reject(this.#failure);
    this.#queue.push(request);
    if (!this.#committing) {
      this.#committing = true;
      this.#drained = this.#commitLoop();
    }
  }

  async #commitLoop(): Promise<void> {
    // Start a turn later so a burst of writes issued together shares the first fsync.
    await Promise.resolve();
    try {
      while (this.#queue.length > 0 && !this.#failure) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.#commitBatch(batch);
          await this.#maybeCompact();
        } catch (err) {
          // Only a bug gets here (commitBatch handles I/O errors); stop rather than diverge from disk.
          this.#fail(err);
          for (const request of batch) request.reject(this.#failure);
        }
      }
    } finally {
      this.#committing = false;
      if (this.#failure) this.#rejectQueued(this.#failure);
    }
  }

  async #commitBatch(batch: readonly WriteRequest[]): Promise<void> {
    const staging = this.#core.stage();
    const now = Date.now();
    const changes: Change[] = [];
    const answers: (() => void)[] = [];
    for (const request of batch) {
      try {
        const { change, answer } = request.stage(staging, now);
        if (change) changes.push(change);
        answers.push(answer);
      } catch (err) {
        request.reject(err); // a failed condition or bad argument: it never enters the staged sequence
      }
    }
    if (changes.length > 0) {
      try {
        await (this.#writer as WalWriter).append(changes.map((change) => encodeFrame(encodeChange(change))));
      } catch (err) {
        // Not known to be durable, and what the kernel kept of the file is uncertain (an fsync error
        // may drop dirty pages): stop accepting writes rather than acknowledge on top of it.
        this.#fail(err);
        for (const request of batch) request.reject(this.#failure);
        return;
      }
      for (const change of changes) this.#core.apply(change);
    }
    for (const answer of answers) answer();
  }

  async #maybeCompact(): Promise<void> {
    const size = (this.#writer as WalWriter).size;
    if (size < Math.max(this.#compactAfterBytes, this.#snapshotBytes, this.#compactionBackoffBytes)) return;
    try {
      await this.#compact();
    } catch (err) {
      if (this.#failure) return;
      this.#compactionBackoffBytes = size + this.#compactAfterBytes;
      this.#logger.error({ err, dir: this.dir }, 'store compaction failed; writes continue on the current log');
    }
  }

  /**
   * Writes a snapshot of the current state and switches to a fresh log.
   * Crash-safe at every step: the new log exists before the snapshot that
   * names it is renamed into place, and old logs are removed only after the
   * rename is durable. Runs inside the commit loop, so never beside an append.
   */
  async #compact(): Promise<void> {
    const started = performance.now();
    const nextSeq = this.#walSeq + 1;
    const revision = this.#core.revision;
    const snapshotBytes = await writeSnapshotTemp(this.dir, { revision, walSeq: nextSeq, entries: [...this.#core.entries()] });
    const nextPath = join(this.dir, walFileName(nextSeq));
    const next = await WalWriter.open(nextPath);
    try {
      await installSnapshot(this.dir);
    } catch (err) {
      await next.close();
      await unlink(nextPath).catch(() => undefined);
      throw err;
    }
    // The snapshot now names the new log: from here on, appends must go there.
    const previous = this.#writer as WalWriter;
    this.#writer = next;
    this.#walSeq = nextSeq;
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      this.#fail(err);
      throw err;
    }
    this.#snapshotBytes = snapshotBytes;
    this.#compactionBackoffBytes = 0;
    await previous.close().catch((err: unknown) => this.#logger.warn({ err, file: previous.path }, 'could not close the previous store log'));
    await this.#removeLogsBefore(nextSeq);
    this.#logger.info({ dir: this.dir, revision, snapshotBytes: this.#snapshotBytes, ms: Math.round(performance.now() - started) }, 'store compacted');
  }

  async #removeLogsBefore(seq: number): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const logSeq = parseWalFileName(name);
      if (logSeq === undefined || logSeq >= seq) continue;
      await unlink(join(this.dir, name)).catch((err: unknown) =>
        this.#logger.warn({ err, file: name }, 'could not remove an old store log; it is removed at the next open'),
      );
    }
  }

  #expire(key: string, modRevision: number): void {
    if (this.#closed) return;
    this.delete(key, { ifModRevision: modRevision }).catch((err: unknown) => {
      if (!(err instanceof CasConflictError) && !this.#closed) this.#logger.error({ err, key }, 'lease expiry failed');
    });
  }

  async #expireNow(key: string): Promise<void> {
    const kv = this.#core.get(key);
    if (!kv) return;
    await this.delete(key, { ifModRevision: kv.modRevision }).catch((err: unknown) => {
      if (!(err instanceof CasConflictError)) throw err;
    });
  }

  #fail(err: unknown): void {
    if (this.#failure) return;
    this.#failure = new StoreUnavailableError(`the embedded store in ${this.dir} stopped accepting writes: ${errorMessage(err)}`, { cause: err });
    this.#logger.error({ err, dir: this.dir }, 'store write failed; refusing further writes until restart');
  }

  #rejectQueued(err: Error): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const request of queued) request.reject(err);
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the embedded store is closed');
  }
}
