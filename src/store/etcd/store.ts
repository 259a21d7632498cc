/**
 * EtcdStore: the {@link ConfigStore} contract on a real etcd (v3.4+), in
 * APISIX's keyspace. The store is byte-transparent: callers pass full keys
 * (`/apisix/routes/1`) and the JSON text APISIX stores, so an APISIX node and
 * fngate can share one etcd. Revisions, versions and watch order are etcd's
 * own; this module only translates the calls (spec/config.md §5):
 *
 * - compare-and-swap is a transaction comparing `mod_revision` (a missing key
 *   compares as 0, which is how "must not exist" is expressed);
 * - `ttlSeconds` grants a lease per write and attaches it, as APISIX's `?ttl=`;
 * - `range` is one prefix range read, paged at a fixed revision when large.
 */
import { readFile } from 'node:fs/promises';
import type { EtcdConfig } from '../../config/types.js';
import { silentLogger, type Logger } from '../../log.js';
import { errorMessage } from '../../errors.js';
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
import { EtcdClient, type EtcdTlsOptions } from './client.js';
import {
  ALL_KEYS_END,
  decodeKeyValue,
  encodeText,
  headerRevision,
  keyAfter,
  prefixRange,
  type WireDeleteResponse,
  type WireKeyValue,
  type WireLeaseGrantResponse,
  type WirePutResponse,
  type WireRangeResponse,
  type WireTxnResponse,
} from './codec.js';
import { EtcdConfigError, EtcdServerError, GrpcCode } from './errors.js';
import { EtcdWatch } from './watch.js';

export interface EtcdStoreOptions {
  /** deployment.etcd, as the config loader resolved it (TLS paths absolute). */
  readonly config: EtcdConfig;
  readonly logger?: Logger;
  /**
   * PEM CA bundle to verify etcd's certificate with (APISIX takes it from
   * `apisix.ssl.ssl_trusted_certificate`); Node's default roots when absent.
   */
  readonly trustedCa?: string | Buffer;
  /** Keys per range request (default {@link RANGE_PAGE_SIZE}); a larger range is read in pages at one revision. */
  readonly rangePageSize?: number;
}

/** Keys per range request by default: bounds each response while a full read of APISIX's keyspace stays a few requests. */
export const RANGE_PAGE_SIZE = 1000;

/** A paged range restarts from scratch when etcd compacts its revision meanwhile; this many times at most. */
const RANGE_ATTEMPTS = 3;

/**
 * Connects to etcd and checks that it answers (with the configured
 * credentials), trying `startup_retry` times like APISIX's `init_etcd`.
 *
 * @example
 *   const store = await openEtcdStore({ config: config.deployment.etcd, logger });
 *   await store.put('/apisix/routes/1', '{"uri":"/hello"}');
 *   store.watch('/apisix/', { fromRevision: 0, onBatch: (b) => apply(b.events) });
 * @throws StoreUnavailableError when no endpoint answered or authentication failed.
 * @throws EtcdConfigError when a host or TLS file is unusable.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const { config } = options;
  const pageSize = options.rangePageSize ?? RANGE_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`rangePageSize must be a positive integer, got ${pageSize}`);
  const logger = (options.logger ?? silentLogger).child({ module: 'store', backend: 'etcd' });
  const client = new EtcdClient({
    hosts: config.host,
    timeoutMs: seconds(config.timeout),
    endpointDownMs: seconds(config.health_check_timeout),
    ...(config.user === undefined ? {} : { credentials: { user: config.user, password: config.password ?? '' } }),
    ...(config.tls === undefined ? {} : { tls: await tlsOptions(config.tls, options.trustedCa) }),
    logger,
  });
  const store = new EtcdStore(client, config, logger, pageSize);
  let lastError: unknown;
  for (let attempt = 0; attempt < Math.max(1, config.startup_retry); attempt++) {
    try {
      await store.revision();
      logger.info({ hosts: config.host, revision: client.lastRevision }, 'connected to etcd');
      return store;
    } catch (err) {
      lastError = err;
    }
  }
  await store.close();
  throw lastError instanceof StoreUnavailableError
    ? lastError
    : new StoreUnavailableError(`failed to connect to etcd: ${errorMessage(lastError)}`, { cause: lastError });
}

/**
 * The etcd-backed {@link ConfigStore}, plus the health the status API reports.
 *
 * @example
 *   const store = await openEtcdStore({ config: etcdConfig, logger });
 *   if (!store.isConnected()) console.warn(store.lastError(), 'last revision', store.lastRevision());
 */
export class EtcdStore implements ConfigStore {
  readonly backend = 'etcd';
  readonly readOnly = false;
  readonly #client: EtcdClient;
  readonly #config: EtcdConfig;
  readonly #logger: Logger;
  readonly #pageSize: number;
  readonly #watches = new Set<EtcdWatch>();
  #closed = false;

  /** Use {@link openEtcdStore}, which also checks the connection. */
  constructor(client: EtcdClient, config: EtcdConfig, logger: Logger, pageSize: number) {
    this.#client = client;
    this.#config = config;
    this.#logger = logger;
    this.#pageSize = pageSize;
  }

  /** The last exchange with etcd (request or watch) succeeded. */
  isConnected(): boolean {
    return this.#client.connected;
  }

  /** Why etcd is unavailable, while it is; undefined when connected. */
  lastError(): string | undefined {
    return this.#client.lastError;
  }

  /** The highest etcd revision this store has seen in any response or watch event. */
  lastRevision(): number {
    return this.#client.lastRevision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#assertOpen();
    const res = await this.#client.call<WireRangeResponse>('/v3/kv/range', { key: encodeText(key) }, 'idempotent');
    const wire = res.kvs?.[0];
    return wire === undefined ? undefined : decodeKeyValue(wire);
  }

  async range(prefix: string): Promise<RangeResult> {
    this.#assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#rangeAtOneRevision(prefix);
      } catch (err) {
        if (attempt >= RANGE_ATTEMPTS || !isCompactedRead(err)) throw err;
      }
    }
  }

  async revision(): Promise<number> {
    this.#assertOpen();
    // Any linearizable read returns the store revision in its header; a count of one key is the cheapest.
    const res = await this.#client.call<WireRangeResponse>('/v3/kv/range', { key: ALL_KEYS_END, count_only: true }, 'idempotent');
    return headerRevision(res.header);
  }

  async put(key: string, value: string, options?: PutOptions): Promise<PutResult> {
    this.#assertOpen();
    checkKey(key);
    // A lease granted for a write whose compare then fails simply runs out unused.
    const lease = options?.ttlSeconds === undefined ? undefined : await this.#grantLease(options.ttlSeconds);
    const request = { key: encodeText(key), value: encodeText(value), prev_kv: true, ...(lease === undefined ? {} : { lease }) };
    if (options?.ifModRevision === undefined) {
      return putResult(await this.#client.call<WirePutResponse>('/v3/kv/put', request, 'once'));
    }
    const res = await this.#client.call<WireTxnResponse>(
      '/v3/kv/txn',
      { compare: [modRevisionEquals(request.key, options.ifModRevision)], success: [{ request_put: request }] },
      'once',
    );
    if (!res.succeeded) throw new CasConflictError(key);
    return putResult({ header: res.header, prev_kv: res.responses?.[0]?.response_put?.prev_kv });
  }

  async delete(key: string, options?: DeleteOptions): Promise<DeleteResult> {
    this.#assertOpen();
    checkKey(key);
    const request = { key: encodeText(key), prev_kv: true };
    if (options?.ifModRevision === undefined) {
      return deleteResult(await this.#client.call<WireDeleteResponse>('/v3/kv/deleterange', request, 'once'));
    }
    const res = await this.#client.call<WireTxnResponse>(
      '/v3/kv/txn',
      { compare: [modRevisionEquals(request.key, options.ifModRevision)], success: [{ request_delete_range: request }] },
      'once',
    );
    if (!res.succeeded) throw new CasConflictError(key);
    return deleteResult({ header: res.header, prev_kvs: res.responses?.[0]?.response_delete_range?.prev_kvs });
  }

  watch(prefix: string, options: WatchOptions): WatchHandle {
    if (this.#closed) return failedWatch(options, new StoreUnavailableError('the etcd store is closed'), this.#logger);
    const watch = new EtcdWatch({
      client: this.#client,
      prefix,
      watch: options,
      reopenAfterMs: seconds(this.#config.watch_timeout),
      retryBaseMs: seconds(this.#config.resync_delay),
      logger: this.#logger,
      onStop: (stopped) => this.#watches.delete(stopped),
    });
    this.#watches.add(watch);
    watch.start();
    return watch;
  }

  /** Ends the watches (without onError), waits for requests in flight, releases the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of [...this.#watches]) watch.cancel();
    await this.#client.close();
  }

  async #rangeAtOneRevision(prefix: string): Promise<RangeResult> {
    const { key, range_end } = prefixRange(prefix);
    const first = await this.#client.call<WireRangeResponse>('/v3/kv/range', { key, range_end, limit: this.#pageSize }, 'idempotent');
    const revision = headerRevision(first.header);
    const kvs: KeyValue[] = [];
    let page = first;
    for (;;) {
      // etcd returns a range in key byte order, the order the contract asks for.
      const wires: readonly WireKeyValue[] = page.kvs ?? [];
      for (const wire of wires) kvs.push(decodeKeyValue(wire));
      const last = wires.at(-1);
      if (!page.more || last?.key === undefined) return { revision, kvs };
      page = await this.#client.call<WireRangeResponse>(
        '/v3/kv/range',
        { key: keyAfter(last.key), range_end, limit: this.#pageSize, revision: String(revision) },
        'idempotent',
      );
    }
  }

  /** A lease per write, as APISIX does for `?ttl=`; etcd deletes the key (a normal delete event) when it runs out. */
  async #grantLease(ttlSeconds: number): Promise<string> {
    if (!(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) throw new RangeError(`ttlSeconds must be a positive number, got ${ttlSeconds}`);
    const res = await this.#client.call<WireLeaseGrantResponse>('/v3/lease/grant', { TTL: String(Math.ceil(ttlSeconds)) }, 'once');
    if (res.ID === undefined) throw new StoreUnavailableError('etcd granted a lease without an id');
    return res.ID;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the etcd store is closed');
  }
}

function seconds(value: number): number {
  return Math.round(value * 1000);
}

function checkKey(key: string): void {
  if (key.length === 0) throw new RangeError('key must not be empty');
}

/** etcd compares a missing key's `mod_revision` as 0: `ifModRevision: 0` = "only if absent". */
function modRevisionEquals(key: string, modRevision: number): object {
  return { key, target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision) };
}

function putResult(res: WirePutResponse): PutResult {
  const revision = headerRevision(res.header);
  return res.prev_kv ? { revision, prev: decodeKeyValue(res.prev_kv) } : { revision };
}

function deleteResult(res: WireDeleteResponse): DeleteResult {
  const revision = headerRevision(res.header);
  const prev = res.prev_kvs?.[0];
  return prev ? { revision, prev: decodeKeyValue(prev) } : { revision };
}

/** A later page of a paged range asked for a revision etcd compacted meanwhile. */
function isCompactedRead(err: unknown): boolean {
  return err instanceof EtcdServerError && err.grpcCode === GrpcCode.OutOfRange;
}

async function tlsOptions(tls: NonNullable<EtcdConfig['tls']>, ca: string | Buffer | undefined): Promise<EtcdTlsOptions> {
  return {
    verify: tls.verify,
    ...(tls.sni === undefined ? {} : { sni: tls.sni }),
    ...(tls.cert === undefined ? {} : { cert: await readTlsFile('cert', tls.cert) }),
    ...(tls.key === undefined ? {} : { key: await readTlsFile('key', tls.key) }),
    ...(ca === undefined ? {} : { ca }),
  };
}

async function readTlsFile(field: 'cert' | 'key', path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new EtcdConfigError(`deployment.etcd.tls.${field}: cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}
