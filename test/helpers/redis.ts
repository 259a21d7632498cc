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
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './net.js';

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

const running = new Set<ChildProcess>();
// A test that crashes must not leave Redis processes behind.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Absolute path of redis-server; throws a clear error when it is not installed. */
export function redisBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error('redis-server not found on PATH: these tests need a real Redis (apt-get install -y redis-server)');
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
  let child: ChildProcess | undefined;
  let output = '';
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

  async function start(): Promise<void> {
    if (child) throw new Error('redis is already running');
    output = '';
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    running.add(proc);
    const collect = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000); };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      running.delete(proc);
      if (child === proc) child = undefined;
    });
    await waitFor(async () => {
      if (exited) throw new Error(`redis-server exited during start-up: ${output.trim()}`);
      return ping();
    }, { timeoutMs: 10_000, intervalMs: 10, what: `redis on 127.0.0.1:${port}` });
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  const server: RedisServer = {
    port,
    get running() {
      return child !== undefined;
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
