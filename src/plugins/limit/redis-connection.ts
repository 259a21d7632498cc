/**
 * Connections to Redis for the rate-limiting plugins' `policy: redis`
 * (limit-count, limit-req), one per distinct server and credentials in each
 * worker process.
 *
 * APISIX opens a cosocket per request and parks it in a keepalive pool of
 * `redis_keepalive_pool` idle sockets for `redis_keepalive_timeout` ms. In
 * Node one connection carries any number of concurrent commands (Redis
 * answers in order, ioredis pipelines them), so a worker holds **one**
 * connection per target: `redis_keepalive_pool` has nothing to size, and
 * `redis_keepalive_timeout` closes the connection once it has been unused
 * that long. It reopens on the next request.
 *
 * Failure behaviour, chosen so that a request never waits longer than
 * `redis_timeout` and never counts twice:
 * - connecting, and every command, are bounded by `redis_timeout`;
 * - commands are never retried or replayed after a lost connection (an
 *   increment that may have been applied must not be applied again);
 * - while the server is known to be unreachable (between reconnection
 *   attempts, backing off up to 1 s), requests fail at once with the last
 *   connection error instead of each waiting for the timeout.
 */
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { FngateError, errorMessage } from '../../errors.js';

/** Where and how to reach one Redis server (the `redis_*` fields of a plugin configuration). */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  /** ACL user (Redis 6+); only sent together with a password, as APISIX does. */
  readonly username?: string;
  /** An empty password means no AUTH. */
  readonly password?: string;
  readonly database: number;
  /** Bound on connecting and on every command, ms (`redis_timeout`). */
  readonly timeoutMs: number;
  readonly tls: boolean;
  /** Verify the server certificate (`redis_ssl_verify`). */
  readonly tlsVerify: boolean;
  /** Close the connection after it has been unused this long, ms (`redis_keepalive_timeout`). */
  readonly idleMs: number;
}

/** Redis could not be reached, or did not answer within `redis_timeout`. */
export class RedisUnavailableError extends FngateError {
  readonly code = 'REDIS_UNAVAILABLE';
}

/** Redis answered with an error (wrong password, script error, ...). */
export class RedisReplyError extends FngateError {
  readonly code = 'REDIS_REPLY_ERROR';
}

/** Longest pause between two reconnection attempts while the server is down, ms. */
const MAX_RECONNECT_DELAY_MS = 1_000;

function optionsOf(target: RedisTarget): RedisOptions {
  const withPassword = target.password !== undefined && target.password !== '';
  return {
    host: target.host,
    port: target.port,
    db: target.database,
    ...(withPassword ? { password: target.password, ...(target.username !== undefined ? { username: target.username } : {}) } : {}),
    ...(target.tls
      ? { tls: { rejectUnauthorized: target.tlsVerify, ...(isIP(target.host) === 0 ? { servername: target.host } : {}) } }
      : {}),
    connectTimeout: target.timeoutMs,
    commandTimeout: target.timeoutMs,
    lazyConnect: true,
    // At most once: a command in flight when the connection drops fails, and is not sent again.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    // RESP2 and no INFO / CLIENT SETINFO round trips: works with any Redis APISIX works with.
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
  };
}

/**
 * One worker's connection to one Redis target, opened on first use and
 * closed when idle. Shared by every configuration naming the same target
 * (see {@link redisConnection}).
 *
 * @example
 *   const redis = redisConnection({ host: '127.0.0.1', port: 6379, database: 0, timeoutMs: 1000, tls: false, tlsVerify: false, idleMs: 10_000 });
 *   const pong = await redis.call((client) => client.ping());
 */
export class RedisConnection {
  readonly #target: RedisTarget;
  readonly #name: string;
  #client: Redis | undefined;
  /** The last connection error, reported while the server stays unreachable. */
  #lastError: string | undefined;
  #inFlight = 0;
  #lastUsed = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(target: RedisTarget) {
    this.#target = target;
    this.#name = `${target.host}:${target.port}`;
  }

  /** `host:port`, for messages. */
  get name(): string {
    return this.#name;
  }

  /** True while a client exists (connected or connecting); false once closed for idleness. */
  get open(): boolean {
    return this.#client !== undefined;
  }

  /**
   * Run commands on the connection (opening it if needed). Rejects with a
   * {@link RedisUnavailableError} at once while the server is known to be
   * unreachable, or when the connection fails or times out; with a
   * {@link RedisReplyError} when Redis answers an error.
   */
  async call<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    const client = this.#open();
    if (client.status === 'reconnecting') {
      throw new RedisUnavailableError(`redis ${this.#name} is unavailable: ${this.#lastError ?? 'connection lost'}`);
    }
    this.#inFlight++;
    this.#lastUsed = performance.now();
    try {
      return await run(client);
    } catch (err) {
      throw this.#classify(err);
    } finally {
      this.#inFlight--;
    }
  }

  /** Drop the connection now (commands in flight fail). The next call opens a new one. */
  close(): void {
    const client = this.#client;
    this.#client = undefined;
    if (this.#idleTimer) clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
    client?.disconnect();
  }

  #open(): Redis {
    if (this.#client !== undefined) {
      if (this.#client.status !== 'end') return this.#client;
      // Ended (it never does on its own: the retry strategy always retries): start over.
      this.close();
    }
    const client = new Redis(optionsOf(this.#target));
    // ioredis reports connection trouble as events (and prints unhandled ones): keep the latest for messages.
    client.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    client.on('ready', () => {
      this.#lastError = undefined;
    });
    this.#client = client;
    this.#lastUsed = performance.now();
    // Checked every idleMs: a connection closes between idleMs and 2 × idleMs after its last use.
    this.#idleTimer = setInterval(this.#closeIfIdle, this.#target.idleMs);
    this.#idleTimer.unref();
    return client;
  }

  readonly #closeIfIdle = (): void => {
    if (this.#inFlight === 0 && performance.now() - this.#lastUsed >= this.#target.idleMs) this.close();
  };

  #classify(err: unknown): Error {
    if (err instanceof FngateError) return err;
    const message = errorMessage(err);
    // ioredis's ReplyError: the server answered, with an error.
    if (err instanceof Error && err.name === 'ReplyError') return new RedisReplyError(`redis ${this.#name} answered: ${message}`, { cause: err });
    if (err instanceof Error && err.name === 'MaxRetriesPerRequestError') {
      return new RedisUnavailableError(`redis ${this.#name} is unavailable: ${this.#lastError ?? 'connection lost'}`, { cause: err });
    }
    return new RedisUnavailableError(`redis ${this.#name}: ${message}`, { cause: err });
  }
}

/** Connections by target identity: all settings that change how the client connects. */
const connections = new Map<string, RedisConnection>();

function identity(t: RedisTarget): string {
  return JSON.stringify([t.host, t.port, t.username ?? null, t.password ?? null, t.database, t.timeoutMs, t.tls, t.tlsVerify, t.idleMs]);
}

/**
 * The worker's connection to `target`, shared by every configuration that
 * names the same server with the same settings. Call at configuration time
 * (it is a map lookup); the connection itself opens on first use.
 *
 * @example
 *   const redis = redisConnection(redisTargetOf(conf));
 */
export function redisConnection(target: RedisTarget): RedisConnection {
  const id = identity(target);
  let connection = connections.get(id);
  if (connection === undefined) {
    connection = new RedisConnection(target);
    connections.set(id, connection);
  }
  return connection;
}

/** Close every connection of this process (tests; a later call reopens). */
export function closeRedisConnections(): void {
  for (const connection of connections.values()) connection.close();
}
