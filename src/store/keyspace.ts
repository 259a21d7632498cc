/**
 * The revisioned key-value state shared by every local backend: keys, their
 * etcd metadata (create/mod revision, version, lease) and the global revision.
 * It is synchronous and knows nothing about watches, timers or disks; backends
 * decide *when* a change is applied (memory: at once; embedded: after fsync).
 */
import type { Change, PutChange } from './change.js';
import { SortedKeys } from './key-order.js';
import { CasConflictError, type DeleteOptions, type DeleteResult, type KeyValue, type PutOptions, type PutResult, type WatchEvent } from './types.js';

/** A change that does not fit the state it is applied to (a log gap, a delete of a missing key). */
export class ChangeOutOfOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChangeOutOfOrderError';
  }
}

/** One key as stored in a snapshot. */
export interface KeyspaceEntry {
  readonly kv: KeyValue;
  /** Absolute expiry (ms since the epoch) of the key's lease. */
  readonly expiresAt?: number;
}

export interface StagedPut {
  readonly change: PutChange;
  readonly result: PutResult;
}

export interface StagedDelete {
  /** Undefined when the key did not exist: nothing to apply, no revision used. */
  readonly change?: Change;
  readonly result: DeleteResult;
}

/**
 * @example
 *   const ks = new Keyspace();
 *   const { change } = ks.stage().put('/apisix/routes/1', '{}', {}, Date.now());
 *   ks.apply(change);              // revision 2, version 1
 */
export class Keyspace {
  readonly #kvs = new Map<string, KeyValue>();
  readonly #expiries = new Map<string, number>();
  readonly #keys = new SortedKeys();
  /** etcd's initial revision for an empty store. */
  #revision = 1;

  get revision(): number {
    return this.#revision;
  }

  get size(): number {
    return this.#kvs.size;
  }

  get(key: string): KeyValue | undefined {
    return this.#kvs.get(key);
  }

  /** Lease expiry of `key`, if it has one. */
  expiresAt(key: string): number | undefined {
    return this.#expiries.get(key);
  }

  /** Keys with a lease and their expiry times. */
  expiries(): ReadonlyMap<string, number> {
    return this.#expiries;
  }

  /** Pairs whose key starts with `prefix`, sorted by key in byte order. */
  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    for (const key of this.#keys.withPrefix(prefix)) out.push(this.#kvs.get(key) as KeyValue);
    return out;
  }

  /** Every key in order, with its lease expiry: what a snapshot stores. */
  *entries(): IterableIterator<KeyspaceEntry> {
    for (const key of this.#keys.withPrefix('')) {
      const kv = this.#kvs.get(key) as KeyValue;
      const expiresAt = this.#expiries.get(key);
      yield expiresAt === undefined ? { kv } : { kv, expiresAt };
    }
  }

  /** Replaces the whole state (loading a snapshot). */
  restore(entries: Iterable<KeyspaceEntry>, revision: number): void {
    this.#kvs.clear();
    this.#expiries.clear();
    for (const { kv, expiresAt } of entries) {
      this.#kvs.set(kv.key, kv);
      if (expiresAt !== undefined) this.#expiries.set(kv.key, expiresAt);
    }
    this.#keys.reset(this.#kvs.keys());
    this.#revision = revision;
  }

  /** Starts evaluating writes against the current state; see {@link Staging}. */
  stage(): Staging {
    return new Staging(this);
  }

  /**
   * Applies a change whose revision is exactly the next one and returns the
   * watch event it produces.
   *
   * @throws ChangeOutOfOrderError when the change does not follow the state.
   */
  apply(change: Change): WatchEvent {
    if (change.revision !== this.#revision + 1) {
      throw new ChangeOutOfOrderError(`change at revision ${change.revision} does not follow revision ${this.#revision}`);
    }
    const prev = this.#kvs.get(change.key);
    if (change.op === 'put') {
      const kv = nextKeyValue(prev, change);
      this.#kvs.set(change.key, kv);
      if (prev === undefined) this.#keys.add(change.key);
      if (change.expiresAt === undefined) this.#expiries.delete(change.key);
      else this.#expiries.set(change.key, change.expiresAt);
      this.#revision = change.revision;
      return prev === undefined ? { type: 'put', kv } : { type: 'put', kv, prevKv: prev };
    }
    if (prev === undefined) {
      throw new ChangeOutOfOrderError(`delete at revision ${change.revision} of missing key ${change.key}`);
    }
    this.#kvs.delete(change.key);
    this.#expiries.delete(change.key);
    this.#keys.remove(change.key);
    this.#revision = change.revision;
    // etcd's delete event: the tombstone carries only the key and the delete's revision.
    return { type: 'delete', kv: { key: change.key, value: '', createRevision: 0, modRevision: change.revision, version: 0 }, prevKv: prev };
  }
}

/**
 * Evaluates a sequence of writes as if each had been applied, without
 * touching the keyspace: checks compare-and-swap conditions and assigns
 * revisions. The embedded store stages a whole group-commit batch, logs the
 * resulting changes, and applies them only once they are durable, so readers
 * and watchers never see a write that could still be lost.
 */
export class Staging {
  readonly #keyspace: Keyspace;
  /** Keys written earlier in this staging; `null` = deleted. */
  #overlay: Map<string, KeyValue | null> | undefined;
  #revision: number;

  constructor(keyspace: Keyspace) {
    this.#keyspace = keyspace;
    this.#revision = keyspace.revision;
  }

  /**
   * @param now wall-clock ms used to turn `ttlSeconds` into an absolute expiry.
   * @throws CasConflictError when `ifModRevision` does not hold.
   */
  put(key: string, value: string, options: PutOptions | undefined, now: number): StagedPut {
    checkKey(key);
    const prev = this.#current(key);
    checkCas(key, prev, options?.ifModRevision);
    const revision = this.#revision + 1;
    const ttl = options?.ttlSeconds;
    let change: PutChange;
    if (ttl === undefined) {
      change = { op: 'put', revision, key, value };
    } else {
      if (!(ttl > 0) || !Number.isFinite(ttl)) throw new RangeError(`ttlSeconds must be a positive number, got ${ttl}`);
      change = { op: 'put', revision, key, value, expiresAt: now + Math.round(ttl * 1000) };
    }
    this.#revision = revision;
    this.#record(key, nextKeyValue(prev, change));
    return { change, result: prev === undefined ? { revision } : { revision, prev } };
  }

  /** @throws CasConflictError when `ifModRevision` does not hold. */
  delete(key: string, options: DeleteOptions | undefined): StagedDelete {
    checkKey(key);
    const prev = this.#current(key);
    checkCas(key, prev, options?.ifModRevision);
    // etcd: deleting nothing is not a change and does not advance the revision.
    if (prev === undefined) return { result: { revision: this.#revision } };
    const revision = this.#revision + 1;
    this.#revision = revision;
    this.#record(key, null);
    return { change: { op: 'delete', revision, key }, result: { revision, prev } };
  }

  #current(key: string): KeyValue | undefined {
    const staged = this.#overlay?.get(key);
    if (staged !== undefined) return staged ?? undefined;
    return this.#keyspace.get(key);
  }

  #record(key: string, kv: KeyValue | null): void {
    (this.#overlay ??= new Map()).set(key, kv);
  }
}

function checkKey(key: string): void {
  if (key.length === 0) throw new RangeError('key must not be empty');
}

/** `0` means "must not exist", as etcd's `mod_revision == 0` compare on a missing key. */
function checkCas(key: string, current: KeyValue | undefined, ifModRevision: number | undefined): void {
  if (ifModRevision !== undefined && (current?.modRevision ?? 0) !== ifModRevision) throw new CasConflictError(key);
}

/** The pair a put produces: a (re)created key starts at version 1 with its own create revision. */
function nextKeyValue(prev: KeyValue | undefined, change: PutChange): KeyValue {
  const base = {
    key: change.key,
    value: change.value,
    createRevision: prev?.createRevision ?? change.revision,
    modRevision: change.revision,
    version: (prev?.version ?? 0) + 1,
  };
  return change.expiresAt === undefined ? base : { ...base, lease: change.revision };
}
