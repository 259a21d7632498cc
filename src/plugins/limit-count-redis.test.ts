/**
 * limit-count's `policy: redis` against a real redis-server: the same
 * counting, headers and rejection as the local policy, totals shared by
 * every copy of a configuration (every node), password and database, and
 * Redis down with and without allow_degradation.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pendingResponseHeaders, PluginHarness, type HarnessRequest } from '../../test/helpers/plugin-harness.js';
import { freePort } from '../../test/helpers/net.js';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';
import { closeRedisConnections } from './limit/redis-connection.js';
import limitCount, { resetLimitCountGroups } from './limit-count.js';

const h = new PluginHarness(limitCount);

async function hit(conf: Record<string, unknown>, options: HarnessRequest = {}) {
  const ctx = h.request('/x', options);
  const verdict = await h.run('access', conf, ctx);
  return { verdict, headers: pendingResponseHeaders(ctx) };
}

describe('limit-count: redis policy', () => {
  let redis: RedisServer;
  let redisConf: Record<string, unknown>;

  before(async () => {
    redis = await startRedis({ password: 'pw' });
    redisConf = { policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_password: 'pw' };
  });
  after(async () => {
    closeRedisConnections();
    await redis.destroy();
  });
  beforeEach(async () => {
    resetLimitCountGroups();
    await redis.client.flushall();
  });

  test('count requests pass with the quota headers, then rejected_code, exactly as the local policy', async () => {
    const conf = h.conf({ count: 2, time_window: 60, rejected_code: 429, rejected_msg: 'slow down', ...redisConf });
    const first = await hit(conf);
    assert.equal(first.verdict, undefined);
    assert.deepEqual(first.headers, { 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 1, 'x-ratelimit-reset': 60 });
    assert.equal((await hit(conf)).headers['x-ratelimit-remaining'], 0);
    const third = await hit(conf);
    assert.deepEqual(third.verdict, [429, { error_msg: 'slow down' }]);
    assert.equal(third.headers['x-ratelimit-remaining'], 0);
    const keys = await redis.client.keys('*');
    assert.equal(keys.length, 1);
    assert.match(keys[0] as string, /^plugin-limit-count:route1:[\w-]{16}:127\.0\.0\.1$/);
  });

  test('every copy of the configuration (every node) counts against one total', async () => {
    const settings = { count: 30, time_window: 60, key: 'http_x_who', ...redisConf };
    // Separately validated objects: what two gateways loading the same route hold.
    const nodeA = h.conf({ ...settings });
    const nodeB = h.conf({ ...settings });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => hit(i % 2 === 0 ? nodeA : nodeB, { headers: { 'x-who': 'shared' } })));
    assert.equal(results.filter((r) => r.verdict === undefined).length, 30);
    const remaining = results.filter((r) => r.verdict === undefined).map((r) => r.headers['x-ratelimit-remaining'] as number).sort((a, b) => a - b);
    assert.deepEqual(remaining, Array.from({ length: 30 }, (_, i) => i), 'each remaining value is handed out once');
  });

  test('a group shares one counter between routes; rules count each key apart', async () => {
    const grouped = h.conf({ count: 1, time_window: 60, group: 'team', ...redisConf });
    assert.equal((await hit(grouped, { confId: 'r1' })).verdict, undefined);
    assert.equal((await hit(grouped, { confId: 'r2' })).verdict, 503);
    assert.equal(await redis.client.get('plugin-limit-count:team:127.0.0.1'), '2');

    const rules = h.conf({ rules: [{ count: 1, time_window: 60, key: 'user-$http_x_user' }], ...redisConf });
    assert.equal((await hit(rules, { headers: { 'x-user': 'a' } })).verdict, undefined);
    assert.equal((await hit(rules, { headers: { 'x-user': 'b' } })).verdict, undefined);
    const again = await hit(rules, { headers: { 'x-user': 'a' } });
    assert.equal(again.verdict, 503);
    assert.equal(again.headers['x-1-ratelimit-remaining'], 0);
  });

  test('redis_database selects where the counters live', async () => {
    const conf = h.conf({ count: 5, time_window: 60, ...redisConf, redis_database: 2 });
    await hit(conf);
    assert.equal((await redis.client.keys('*')).length, 0, 'nothing in database 0');
    await redis.client.select(2);
    try {
      assert.equal((await redis.client.keys('plugin-limit-count:*')).length, 1);
    } finally {
      await redis.client.select(0);
    }
  });

  test('Redis down: 500 with "failed to limit count", or the request passes without quota headers under allow_degradation', async () => {
    const down = { policy: 'redis', redis_host: '127.0.0.1', redis_port: await freePort(), redis_timeout: 200 };
    const strict = await hit(h.conf({ count: 1, time_window: 60, ...down }));
    assert.deepEqual(strict.verdict, [500, { error_msg: 'failed to limit count' }]);
    const lenient = await hit(h.conf({ count: 1, time_window: 60, allow_degradation: true, ...down }));
    assert.equal(lenient.verdict, undefined);
    assert.deepEqual(lenient.headers, {});
  });

  test('a wrong password is a failure like an outage', async () => {
    const conf = h.conf({ count: 1, time_window: 60, ...redisConf, redis_password: 'wrong' });
    assert.deepEqual((await hit(conf)).verdict, [500, { error_msg: 'failed to limit count' }]);
  });
});
