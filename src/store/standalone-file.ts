/**
 * StandaloneFileStore: the read-only backend of file-driven standalone mode
 * (spec/config.md §6.1). It maps `apisix.yaml` / `apisix.json` to etcd-style
 * keys and, when the file changes, turns the difference into ordinary put and
 * delete events (one fresh revision per changed key), so the gateway consumes
 * it exactly like etcd. A file that cannot be used is logged and the previous
 * configuration stays in force.
 *
 * Changes are noticed two ways: `fs.watch` on the *directory* (an editor's or
 * a deploy tool's atomic rename replaces the file's inode, which a watch on
 * the file itself would miss), debounced; and a `stat` poll (APISIX checks
 * every second), which also covers filesystems where `fs.watch` is silent.
 */
import { watch as watchDirectory, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { Change } from './change.js';
import { StoreCore } from './core.js';
import { compareKeys } from './key-order.js';
import { parseStandaloneConfig, type StandaloneFormat } from './standalone/document.js';
import type { Env } from './standalone/env-vars.js';
import { StandaloneConfigError } from './standalone/errors.js';
import {
  StoreReadOnlyError,
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
import { failedWatch } from './watch-hub.js';

export { StandaloneConfigError };

export interface StandaloneFileStoreOptions {
  /** Path of apisix.yaml or apisix.json. */
  readonly file: string;
  /** Key prefix (etcd.prefix), default `/apisix`. */
  readonly prefix?: string;
  readonly logger?: Logger;
  /** How often the file's mtime/size is checked, default 1000 ms as in APISIX. */
  readonly pollIntervalMs?: number;
  /** Default: `json` for a `.json` file, else `yaml`. */
  readonly format?: StandaloneFormat;
  /** Variables for `${{NAME}}` references, default `process.env`. */
  readonly env?: Env;
  /** Past revisions a watch may start from (default 10,000). */
  readonly historyLimit?: number;
}

/** Quiet period after a directory event before reading, so a burst of writes is read once. */
const DEBOUNCE_MS = 50;

/**
 * Loads the file and starts following it.
 *
 * @example
 *   const store = await openStandaloneFileStore({ file: 'conf/apisix.yaml', logger });
 *   const { kvs, revision } = await store.range('/apisix/routes/');
 * @throws StandaloneConfigError when the file cannot be read or used at start.
 */
export function openStandaloneFileStore(options: StandaloneFileStoreOptions): Promise<StandaloneFileStore> {
  return StandaloneFileStore.open(options);
}

export class StandaloneFileStore implements ConfigStore {
  readonly backend = 'yaml';
  readonly readOnly = true;
  readonly file: string;
  readonly #prefix: string;
  readonly #format: StandaloneFormat;
  readonly #env: Env;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #core: StoreCore;

  /** Serialises reloads; never rejects. */
  #reloads: Promise<unknown> = Promise.resolve();
  #reloadQueued = false;
  /** mtime/size/inode of the file as last read, to notice changes cheaply. */
  #signature: string | undefined;
  #poller: NodeJS.Timeout | undefined;
  #dirWatcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #closed = false;

  /** See {@link openStandaloneFileStore}. */
  static async open(options: StandaloneFileStoreOptions): Promise<StandaloneFileStore> {
    const store = new StandaloneFileStore(options);
    try {
      await store.reload();
    } catch (err) {
      await store.close();
      throw err;
    }
    store.#follow();
    return store;
  }

  private constructor(options: StandaloneFileStoreOptions) {
    this.file = resolve(options.file);
    this.#prefix = options.prefix ?? '/apisix';
    this.#format = options.format ?? (extname(this.file).toLowerCase() === '.json' ? 'json' : 'yaml');
    this.#env = options.env ?? process.env;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'store', backend: 'standalone' });
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#core = new StoreCore({ logger: this.#logger, historyLimit: options.historyLimit });
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
    if (this.#closed) return failedWatch(options, new StoreUnavailableError('the standalone file store is closed'), this.#logger);
    return this.#core.watch(prefix, options);
  }

  async put(key: string, _value?: string, _options?: PutOptions): Promise<PutResult> {
    throw this.#readOnlyError(key);
  }

  async delete(key: string, _options?: DeleteOptions): Promise<DeleteResult> {
    throw this.#readOnlyError(key);
  }

  /**
   * Reads the file now and applies what changed. Resolves with the number of
   * keys that changed.
   *
   * @throws StandaloneConfigError when the file cannot be used (the previous configuration stays).
   */
  reload(): Promise<number> {
    const run = this.#reloads.then(() => this.#load());
    this.#reloads = run.catch(() => undefined);
    return run;
  }

  /** Starts the directory watch and the poll. */
  #follow(): void {
    this.#poller = setInterval(() => void this.#poll(), this.#pollIntervalMs);
    this.#poller.unref();
    try {
      const name = basename(this.file);
      this.#dirWatcher = watchDirectory(dirname(this.file), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) this.#debounceReload();
      });
      this.#dirWatcher.on('error', (err) => {
        this.#logger.warn({ err, file: this.file }, 'watching the config directory failed; relying on polling');
        this.#dirWatcher?.close();
        this.#dirWatcher = undefined;
      });
    } catch (err) {
      this.#logger.warn({ err, file: this.file }, 'cannot watch the config directory; relying on polling');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poller);
    clearTimeout(this.#debounce);
    this.#dirWatcher?.close();
    this.#core.close();
    await this.#reloads;
  }

  async #poll(): Promise<void> {
    let signature: string;
    try {
      signature = await fileSignature(this.file);
    } catch {
      signature = 'unreadable';
    }
    if (signature !== this.#signature) this.#queueReload();
  }

  #debounceReload(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#queueReload(), DEBOUNCE_MS);
    this.#debounce.unref();
  }

  /** A change noticed while a reload runs queues exactly one more. */
  #queueReload(): void {
    if (this.#reloadQueued || this.#closed) return;
    this.#reloadQueued = true;
    this.#reloads = this.#reloads.then(async () => {
      this.#reloadQueued = false;
      if (this.#closed) return;
      try {
        await this.#load();
      } catch (err) {
        this.#logger.warn({ err, file: this.file }, `standalone config not reloaded, keeping the previous one: ${errorMessage(err)}`);
      }
    });
  }

  async #load(): Promise<number> {
    let content: Buffer;
    try {
      // Stat before reading: if the file changes in between, the next poll sees a newer signature.
      this.#signature = await fileSignature(this.file);
      content = await readFile(this.file);
    } catch (err) {
      this.#signature = 'unreadable';
      throw new StandaloneConfigError(`cannot read ${this.file}: ${errorMessage(err)}`, { cause: err });
    }
    let entries: Map<string, string>;
    try {
      entries = parseStandaloneConfig(content, {
        format: this.#format,
        prefix: this.#prefix,
        env: this.#env,
        onWarning: (message, details) => this.#logger.warn({ ...details, file: this.file }, message),
      });
    } catch (err) {
      if (err instanceof StandaloneConfigError) throw new StandaloneConfigError(`${this.file}: ${err.message}`, { cause: err });
      throw err;
    }
    if (this.#closed) return 0;
    const changed = this.#apply(entries);
    if (changed > 0) this.#logger.info({ file: this.file, changedKeys: changed, revision: this.#core.revision }, 'standalone config loaded');
    return changed;
  }

  /** Applies the difference between the current keys and `entries`, in key order. */
  #apply(entries: Map<string, string>): number {
    const keys = new Set<string>(entries.keys());
    for (const kv of this.#core.range('').kvs) keys.add(kv.key);
    let changed = 0;
    for (const key of [...keys].sort(compareKeys)) {
      const value = entries.get(key);
      const current = this.#core.get(key);
      if (value === current?.value) continue; // unchanged items keep their revisions
      const revision = this.#core.revision + 1;
      const change: Change = value === undefined ? { op: 'delete', revision, key } : { op: 'put', revision, key, value };
      this.#core.apply(change);
      changed++;
    }
    return changed;
  }

  #readOnlyError(key: string): StoreReadOnlyError {
    return new StoreReadOnlyError(`cannot change ${key}: the configuration is read-only, it comes from ${this.file}`);
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the standalone file store is closed');
  }
}

async function fileSignature(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.ino}:${s.size}:${s.mtimeNs}`;
}
