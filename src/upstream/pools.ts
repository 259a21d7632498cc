/**
 * Keep-alive connection pools, one undici `Pool` per (origin, pool settings),
 * shared by every compiled upstream that points at the same node with the
 * same settings — the equivalent of nginx's per-worker `keepalive` cache.
 *
 * Lifetime is reference-counted: each compiled upstream acquires a lease per
 * node and releases it when its snapshot is retired. A pool nobody holds is
 * kept for `lingerMs` (so a config change that keeps the node re-acquires the
 * same warm pool, and requests still running on the old snapshot can retry on
 * it), then closed gracefully: undici lets in-flight requests finish.
 *
 * Differences from nginx worth knowing:
 * - `keepalive_pool.size` caps the connections undici opens to the origin
 *   (requests queue beyond it); nginx's `keepalive` only caps *idle* ones.
 * - The connect timeout is a property of the pool's connector, so upstreams
 *   that differ only in `timeout.connect` (e.g. a route `timeout`) get
 *   separate pools to the same origin.
 * - TLS to upstreams does not verify certificates (`rejectUnauthorized:
 *   false`), as APISIX's default `proxy_ssl_verify off`. SNI is the Host
 *   header sent upstream (APISIX: `proxy_ssl_name $upstream_host`), which
 *   undici derives per request; IP literals send no SNI (RFC 6066 §3).
 */
import { Pool, buildConnector } from 'undici';
import { FngateError, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { withConnectTimeout } from './connect-timeout.js';

export interface PoolSettings {
  /** Maximum connections to the origin (`keepalive_pool.size`). */
  readonly size: number;
  /** Idle keep-alive time in ms (`keepalive_pool.idle_timeout`); 0 = close after each request. */
  readonly idleTimeoutMs: number;
  /** Requests per connection before it is closed (`keepalive_pool.requests`). */
  readonly maxRequests: number;
  /** TCP (+TLS) connect timeout in ms (`timeout.connect`); 0 = none. */
  readonly connectTimeoutMs: number;
}

export interface PoolLease {
  readonly pool: Pool;
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
  readonly pool: Pool;
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
   * A pool for `origin` (`http://host:port` or `https://host:port`) with
   * `settings`; the same pool is returned to every holder of equal settings.
   */
  acquire(origin: string, settings: PoolSettings): PoolLease {
    if (this.#closed) throw new PoolManagerClosedError();
    const key = `${origin}|${settings.size}|${settings.idleTimeoutMs}|${settings.maxRequests}|${settings.connectTimeoutMs}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { key, pool: createPool(origin, settings), refs: 0, closeTimer: undefined };
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

function createPool(origin: string, settings: PoolSettings): Pool {
  // nginx keepalive_timeout 0 / keepalive_requests 1: the connection is not reused.
  // undici expresses that as pipelining 0 (`connection: close` on every request).
  const reuse = settings.idleTimeoutMs > 0 && settings.maxRequests > 1;
  const keepAliveTimeout = Math.max(1, settings.idleTimeoutMs);
  const connector = buildConnector(origin.startsWith('https:') ? { timeout: 0, rejectUnauthorized: false } : { timeout: 0 });
  return new Pool(origin, {
    connections: settings.size,
    pipelining: reuse ? 1 : 0,
    keepAliveTimeout,
    // Never keep a connection longer than configured, even if the upstream's Keep-Alive hint allows more.
    keepAliveMaxTimeout: keepAliveTimeout,
    // undici sends maxRequestsPerClient + 1 requests on a connection before closing it.
    maxRequestsPerClient: reuse ? settings.maxRequests - 1 : 0,
    connect: settings.connectTimeoutMs > 0 ? withConnectTimeout(connector, settings.connectTimeoutMs) : connector,
  });
}

