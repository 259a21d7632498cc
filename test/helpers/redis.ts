/**
 * Real Redis servers for tests: each on a free loopback port, in memory only
 * (no RDB, no AOF), stoppable and restartable on the same port to simulate
 * outages.
 *
 * Tests that need Redis must fail, not skip, when the binary is missing
 * (`apt-get install -y redis-server`, as .ci/run does).
 *
 * @example
 *   const redis = await startRedis();
 *   try {
 *     // point a plugin at { redis_host: '127.0.0.1', redis_port: redis.port }
 *     await redis.stop();   // outage
 *     await redis.start();  // back, empty
 *   } finally {
 *     await redis.destroy();
 *   }
 */
import { Redis } from 'ioredis';
import { freePort } from './net.js';
import { findBinary, serverProcess } from './server-process.js';

export interface RedisServer {
  readonly port: number;
  readonly running: boolean;
  /** A client of this server for setting up and checking data (opened lazily, closed by destroy). */
  readonly client: Redis;
  /** Start again on the same port (after {@link stop}); the data is gone. */
  start(): Promise<void>;
  /** Stop the process (SIGKILL: a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stop and release everything. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface StartRedisOptions {
  /** `requirepass`: clients must AUTH with this password. */
  readonly password?: string;
}

/** Absolute path of redis-server; throws a clear error when it is not installed. */
export function redisBinary(): string {
  return findBinary('redis-server', 'Redis', 'redis-server');
}

/** Start a fresh in-memory Redis on a free loopback port and wait until it answers PING. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = redisBinary();
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--loglevel', 'warning',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
  ];
  let client: Redis | undefined;
  let destroyed = false;

  async function ping(): Promise<boolean> {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(options.password === undefined ? {} : { password: options.password }) });
    probe.on('error', () => undefined);
    try {
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  const daemon = serverProcess({ binary, args, name: 'redis-server', what: `redis on 127.0.0.1:${port}`, ready: ping, captureStdout: true });
  const start = () => daemon.start();
  const stop = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL') => daemon.stop(signal);

  const server: RedisServer = {
    port,
    get running() {
      return daemon.running;
    },
    get client() {
      if (client === undefined) {
        client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, ...(options.password === undefined ? {} : { password: options.password }) });
        client.on('error', () => undefined);
      }
      return client;
    },
    start,
    stop,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      client?.disconnect();
      await stop('SIGKILL');
    },
  };

  try {
    await start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}
