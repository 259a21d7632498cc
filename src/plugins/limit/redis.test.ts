/**
 * The Redis side of the rate limiters against a real redis-server: the
 * counter and bucket scripts (atomic under concurrency, windows, expiry,
 * EVALSHA after a script flush), and the connection (password, database,
 * timeouts, fail-fast while down, recovery, idle close).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { startRedis, type RedisServer } from '../../../test/helpers/redis.js';
import { freePort, waitFor } from '../../../test/helpers/net.js';
import { REJECTED } from './leaky-bucket.js';
import { closeRedisConnections, RedisConnection, RedisReplyError, RedisUnavailableError, redisConnection, type RedisTarget } from './redis-connection.js';
import { RedisCounters } from './redis-counters.js';
import { RedisLeakyBuckets } from './redis-leaky-bucket.js';

function target(port: number, extra: Partial<RedisTarget> = {}): RedisTarget {
  return { host: '127.0.0.1', port, database: 0, timeoutMs: 1_000, tls: false, tlsVerify: false, idleMs: 10_000, ...extra };
}

let redis: RedisServer;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  closeRedisConnections();
  await redis.destroy();
});

describe('RedisCounters', () => {
  test('a window starts with the first increment; counts and seconds left as the local counters report them', async () => {
    const counters = new RedisCounters(redisConnection(target(redis.port)));
    assert.deepEqual(await counters.incr('c:first', 1, 60), { count: 1, ttl: 60 });
    assert.deepEqual(await counters.incr('c:first', 1, 60), { count: 2, ttl: 60 });
    assert.deepEqual(await counters.incr('c:first', 3, 60), { count: 5, ttl: 60 });
    assert.equal(await redis.client.get('plugin-c:first'), '5', "APISIX's key prefix");
    const pttl = await redis.client.pttl('plugin-c:first');
    assert.ok(pttl > 58_000 && pttl <= 60_000, String(pttl));
  });

  test('a new window starts once the key expired', async () => {
    const counters = new RedisCounters(redisConnection(target(redis.port)));
    assert.equal((await counters.incr('c:short', 1, 1)).count, 1);
    assert.equal((await counters.incr('c:short', 1, 1)).count, 2);
    await waitFor(async () => (await redis.client.exists('plugin-c:short')) === 0, { timeoutMs: 3_000, what: 'the window to expire' });
    assert.deepEqual(await counters.incr('c:short', 1, 1), { count: 1, ttl: 1 });
  });

  test('concurrent increments from several connections are exact: every count appears once', async () => {
    // Two connections (different idle settings make different pool entries), as two gateways would have.
    const a = new RedisCounters(redisConnection(target(redis.port)));
    const b = new RedisCounters(redisConnection(target(redis.port, { idleMs: 20_000 })));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).incr('c:race', 1, 60)));
    const counts = results.map((r) => r.count).sort((x, y) => x - y);
    assert.deepEqual(counts, Array.from({ length: 200 }, (_, i) => i + 1));
  });

  test('EVALSHA falls back to EVAL when Redis lost the script', async () => {
    const counters = new RedisCounters(redisConnection(target(redis.port)));
    await counters.incr('c:flush', 1, 60);
    await redis.client.script('FLUSH');
    assert.equal((await counters.incr('c:flush', 1, 60)).count, 2);
  });

  test('a key holding something else is a reply error, not a crash', async () => {
    await redis.client.set('plugin-c:text', 'not a number', 'EX', 60);
    const counters = new RedisCounters(redisConnection(target(redis.port)));
    await assert.rejects(counters.incr('c:text', 1, 60), RedisReplyError);
  });
});

describe('RedisLeakyBuckets', () => {
  test("nginx limit_req's arithmetic on Redis's clock; refusals leave the bucket as it was", async () => {
    const buckets = new RedisLeakyBuckets(redisConnection(target(redis.port)));
    assert.equal(await buckets.incoming('b:one', 1, 1), 0);
    const delay = await buckets.incoming('b:one', 1, 1);
    assert.ok(delay > 0.9 && delay <= 1, `an excess request waits about 1 s, got ${delay}`);
    assert.equal(await buckets.incoming('b:one', 1, 1), REJECTED);
    assert.equal(await redis.client.hget('limit_req:b:one', 'excess') !== null, true, "APISIX's key prefix");
    const pttl = await redis.client.pttl('limit_req:b:one');
    assert.ok(pttl > 1_000 && pttl <= 2_000, `the bucket expires once drained ((excess + 1) / rate), got ${pttl} ms`);
  });

  test('fast rates drain between requests', async () => {
    const buckets = new RedisLeakyBuckets(redisConnection(target(redis.port)));
    assert.equal(await buckets.incoming('b:fast', 100, 0), 0);
    await waitFor(async () => (await buckets.incoming('b:fast', 100, 0)) === 0, { timeoutMs: 2_000, what: 'the bucket to drain' });
  });

  test('concurrent requests are judged one after another: exactly burst + 1 get in', async () => {
    const buckets = new RedisLeakyBuckets(redisConnection(target(redis.port)));
    const results = await Promise.all(Array.from({ length: 50 }, () => buckets.incoming('b:race', 0.01, 9)));
    assert.equal(results.filter((d) => d !== REJECTED).length, 10);
  });
});

describe('RedisConnection', () => {
  test('password and database: AUTH once, SELECT the database', async () => {
    const secured = await startRedis({ password: 's3cret' });
    try {
      const counters = new RedisCounters(new RedisConnection(target(secured.port, { password: 's3cret', database: 3 })));
      await counters.incr('c:db', 1, 60);
      await secured.client.select(3);
      assert.equal(await secured.client.get('plugin-c:db'), '1');
      const wrong = new RedisConnection(target(secured.port, { password: 'wrong' }));
      await assert.rejects(new RedisCounters(wrong).incr('c:db', 1, 60), /WRONGPASS/i);
      wrong.close();
      (counters.connection as RedisConnection).close();
    } finally {
      await secured.destroy();
    }
  });

  test('nothing listening: the call fails at once, and keeps failing fast until the server is back', async () => {
    const port = await freePort();
    const connection = new RedisConnection(target(port));
    const counters = new RedisCounters(connection);
    try {
      const started = performance.now();
      await assert.rejects(counters.incr('c:down', 1, 60), (err: unknown) => err instanceof RedisUnavailableError && /ECONNREFUSED|unavailable/.test(err.message));
      await assert.rejects(counters.incr('c:down', 1, 60), RedisUnavailableError);
      assert.ok(performance.now() - started < 500, 'refused connections fail well within redis_timeout');
    } finally {
      connection.close();
    }
  });

  test('a server that accepts but never answers: the command fails after redis_timeout', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => { sockets.add(socket); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const connection = new RedisConnection(target(port, { timeoutMs: 200 }));
    try {
      const started = performance.now();
      await assert.rejects(new RedisCounters(connection).incr('c:silent', 1, 60), RedisUnavailableError);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 2_000, `bounded by the timeout, took ${elapsed} ms`);
    } finally {
      connection.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a restarted server is used again without any intervention', async () => {
    const own = await startRedis();
    const connection = new RedisConnection(target(own.port));
    const counters = new RedisCounters(connection);
    try {
      assert.equal((await counters.incr('c:restart', 1, 60)).count, 1);
      await own.stop();
      await assert.rejects(counters.incr('c:restart', 1, 60), RedisUnavailableError);
      await own.start();
      await waitFor(async () => {
        try {
          return (await counters.incr('c:restart', 1, 60)).count === 1;
        } catch {
          return false;
        }
      }, { timeoutMs: 5_000, what: 'the connection to come back' });
    } finally {
      connection.close();
      await own.destroy();
    }
  });

  test('an unused connection closes after idleMs and reopens on the next call', async () => {
    const connection = new RedisConnection(target(redis.port, { idleMs: 50 }));
    const counters = new RedisCounters(connection);
    await counters.incr('c:idle', 1, 60);
    assert.equal(connection.open, true);
    await waitFor(() => !connection.open, { timeoutMs: 2_000, what: 'the idle connection to close' });
    assert.equal((await counters.incr('c:idle', 1, 60)).count, 2);
    connection.close();
  });

  test('configurations naming the same target share one connection', () => {
    assert.equal(redisConnection(target(redis.port)), redisConnection(target(redis.port)));
    assert.notEqual(redisConnection(target(redis.port)), redisConnection(target(redis.port, { database: 1 })));
  });
});
