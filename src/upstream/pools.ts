/**
 * Keep-alive connection pools, one `H1Pool` per (origin, pool settings),
 * shared by every compiled upstream that points at the same node with the
 * same settings — the equivalent of nginx's per-worker `keepalive` cache.
 *
 * Lifetime is reference-counted: each compiled upstream acquires a lease per
 * node and releases it when its snapshot is retired. A pool nobody holds is
 * kept for `lingerMs` (so a config change that keeps the node re-acquires the
 * same warm pool, and requests still running on the old snapshot can retry on
 * it), then closed gracefully: in-flight requests finish.
 *
 * Differences from nginx worth knowing:
 * - `keepalive_pool.size` caps the connections opened to the origin
 *   (requests queue beyond it); nginx's `keepalive` only caps *idle* ones.
 * - The connect timeout is a pool setting, so upstreams that differ only in
 *   `timeout.connect` (e.g. a route `timeout`) get separate pools to the
 *   same origin.
 * - TLS: see h1/pool.ts (no certificate verification, as APISIX's default
 *   `proxy_ssl_verify off`; SNI follows the Host sent upstream).
 */
import { FngateError, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { H1Pool, type PoolOrigin, type PoolSettings } from './h1/pool.js';

export type { PoolOrigin, PoolSettings } from './h1/pool.js';

export interface PoolLease {
  readonly pool: H1Pool;
  /** Drop this reference; idempotent. */
  release(): void;
}

export interface PoolManagerOptions {
  /** How long an unreferenced pool is kept before closing (default 30 000 ms). */
  readonly lingerMs?: number;
  readonly logger?: Logger;
}

export class PoolManagerClosedError extends FngateError {
  readonly code = 'UPSTREAM_POOLS_CLOSED';
  constructor() {
    super('the upstream pool manager is closed');
  }
}

interface Entry {
  readonly key: string;
  readonly pool: H1Pool;
  refs: number;
  closeTimer: NodeJS.Timeout | undefined;
}

/**
 * @example
 *   const pools = new PoolManager();
 *   const lease = pools.acquire('http://127.0.0.1:1980', { size: 320, idleTimeoutMs: 60e3, maxRequests: 1000, connectTimeoutMs: 60e3 });
 *   // ... lease.pool.dispatch(...)
 *   lease.release();
 *   await pools.close();
 */
export class PoolManager {
  readonly #entries = new Map<string, Entry>();
  readonly #lingerMs: number;
  readonly #log: Logger;
  #closed = false;

  constructor(options: PoolManagerOptions = {}) {
    this.#lingerMs = options.lingerMs ?? 30_000;
    this.#log = options.logger ?? silentLogger;
  }

  /** Number of open pools (held or lingering). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * A pool for `origin` with `settings`; the same pool is returned to every
   * holder of equal settings.
   */
  acquire(origin: PoolOrigin, settings: PoolSettings): PoolLease {
    if (this.#closed) throw new PoolManagerClosedError();
    const key = `${origin.scheme}://${origin.host}:${origin.port}|${settings.size}|${settings.idleTimeoutMs}|${settings.maxRequests}|${settings.connectTimeoutMs}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { key, pool: new H1Pool(origin, settings), refs: 0, closeTimer: undefined };
      this.#entries.set(key, entry);
    } else if (entry.closeTimer !== undefined) {
      clearTimeout(entry.closeTimer);
      entry.closeTimer = undefined;
    }
    entry.refs += 1;
    const held = entry;
    let released = false;
    return {
      pool: held.pool,
      release: () => {
        if (released) return;
        released = true;
        this.#release(held);
      },
    };
  }

  /** Close every pool, waiting for in-flight requests. */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => {
      if (entry.closeTimer !== undefined) clearTimeout(entry.closeTimer);
      return this.#closePool(entry);
    }));
  }

  #release(entry: Entry): void {
    entry.refs -= 1;
    if (entry.refs > 0 || this.#closed) return;
    if (this.#lingerMs <= 0) {
      this.#retire(entry);
      return;
    }
    entry.closeTimer = setTimeout(() => this.#retire(entry), this.#lingerMs);
    entry.closeTimer.unref();
  }

  #retire(entry: Entry): void {
    entry.closeTimer = undefined;
    if (entry.refs > 0 || this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    void this.#closePool(entry);
  }

  async #closePool(entry: Entry): Promise<void> {
    try {
      await entry.pool.close();
    } catch (err) {
      this.#log.warn({ pool: entry.key, err: errorMessage(err) }, 'closing upstream pool failed');
    }
  }
}
