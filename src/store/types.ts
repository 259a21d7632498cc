/**
 * The dynamic-configuration store: a revisioned key-value store with watch,
 * with etcd v3's semantics, so that the embedded backend and the etcd backend
 * are interchangeable behind this one interface.
 *
 * Semantics every backend honours (pinned by test/contract/store.contract.ts):
 * - One global `revision` counter, starting at 1 for an empty store (etcd's
 *   initial revision). Every successful put or delete of an existing key
 *   increments it by exactly one and stamps the change with it.
 * - Per key: `createRevision` (revision of the put that created it),
 *   `modRevision` (revision of the last put), `version` (puts since creation,
 *   1 after the first). Deleting and re-creating a key starts over.
 * - Keys and values are strings (etcd stores bytes; APISIX's values are JSON
 *   text except the `init_dir` directory markers, so no parsing happens here).
 * - `range(prefix)` returns keys starting with `prefix`, sorted by key
 *   (byte order), and the store revision at which the read was made.
 * - Watches deliver every change with revision >= `fromRevision`, in revision
 *   order, grouped per revision, with no gaps and no duplicates. A watch from a
 *   revision older than the oldest one the backend still keeps fails with
 *   {@link CompactedError}; the caller then re-reads with `range`.
 */
import { FngateError } from '../errors.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** Lease id when the key was written with a TTL. */
  readonly lease?: number;
}

export type WatchEvent =
  | { readonly type: 'put'; readonly kv: KeyValue; readonly prevKv?: KeyValue }
  /** `kv.modRevision` is the revision of the delete; `kv.value` is ''. */
  | { readonly type: 'delete'; readonly kv: KeyValue; readonly prevKv?: KeyValue };

export interface WatchBatch {
  /** Store revision after the last event in `events`. */
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

export interface PutOptions {
  /**
   * Compare-and-swap: the write happens only if the key's current
   * `modRevision` equals this value; `0` means "only if the key does not
   * exist". On mismatch the call rejects with {@link CasConflictError}.
   */
  readonly ifModRevision?: number;
  /** Attach a lease: the key is deleted (a normal delete event) after this many seconds. */
  readonly ttlSeconds?: number;
}

export interface DeleteOptions {
  /** Compare-and-swap on delete, as in {@link PutOptions.ifModRevision}. */
  readonly ifModRevision?: number;
}

export interface PutResult {
  /** Revision of this write (the new `modRevision` of the key). */
  readonly revision: number;
  readonly prev?: KeyValue;
}

export interface DeleteResult {
  /** Store revision after the call (unchanged when nothing was deleted). */
  readonly revision: number;
  /** The deleted pair; undefined when the key did not exist. */
  readonly prev?: KeyValue;
}

export interface RangeResult {
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
}

export interface WatchHandle {
  cancel(): void;
}

export interface WatchOptions {
  /** Deliver changes with revision >= this value; below 1 means "from the next revision" (etcd's 0). */
  readonly fromRevision: number;
  /** Called with each batch of changes, in order. */
  readonly onBatch: (batch: WatchBatch) => void;
  /**
   * Called once when the watch ends on its own (compaction, backend closed,
   * connection lost and not recoverable by the backend). After it the handle
   * delivers nothing more. `CompactedError` means: re-read with `range`.
   */
  readonly onError?: (err: Error) => void;
}

export interface ConfigStore {
  /** `memory`, `embedded`, `etcd`, `yaml`: shown in logs and the status API. */
  readonly backend: string;
  /** True when writes are refused (standalone file-driven config). */
  readonly readOnly: boolean;
  get(key: string): Promise<KeyValue | undefined>;
  range(prefix: string): Promise<RangeResult>;
  put(key: string, value: string, options?: PutOptions): Promise<PutResult>;
  delete(key: string, options?: DeleteOptions): Promise<DeleteResult>;
  watch(prefix: string, options: WatchOptions): WatchHandle;
  /** Current store revision. */
  revision(): Promise<number>;
  /** Flush and release resources; pending watches end without onError. */
  close(): Promise<void>;
}

/** A compare-and-swap precondition did not hold. */
export class CasConflictError extends FngateError {
  readonly code = 'STORE_CAS_CONFLICT';
  constructor(readonly key: string) {
    super('value changed before overwritten');
  }
}

/** The requested watch revision is no longer kept by the backend. */
export class CompactedError extends FngateError {
  readonly code = 'STORE_COMPACTED';
  constructor(readonly requested: number, readonly oldest: number) {
    super(`required revision ${requested} has been compacted (oldest kept: ${oldest})`);
  }
}

/** The backend cannot be reached or failed; Admin API maps it to 503. */
export class StoreUnavailableError extends FngateError {
  readonly code = 'STORE_UNAVAILABLE';
}

/** A write was attempted on a read-only store. */
export class StoreReadOnlyError extends FngateError {
  readonly code = 'STORE_READ_ONLY';
}

/** The on-disk data could not be read back (never produced by a torn tail, which is repaired). */
export class StoreCorruptError extends FngateError {
  readonly code = 'STORE_CORRUPT';
}
