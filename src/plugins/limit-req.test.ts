/**
 * limit-req's checks and access phase on real request contexts: rate and
 * burst, delays vs nodelay vs rejection, keys, per-configuration buckets,
 * `$var` rates, rules, and the Redis policy against a real redis-server
 * (shared buckets, Redis down with and without allow_degradation).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness, type HarnessRequest } from '../../test/helpers/plugin-harness.js';
import { freePort } from '../../test/helpers/net.js';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';
import { closeRedisConnections } from './limit/redis-connection.js';
import limitReq from './limit-req.js';

const h = new PluginHarness(limitReq);

/** Each test limits on its own route id, so buckets never carry over between tests. */
let route = 0;
function nextRoute(): string {
  route++;
  return `lr${route}`;
}

async function hit(conf: Record<string, unknown>, options: HarnessRequest & { target?: string } = {}) {
  const ctx = h.request(options.target ?? '/x', options);
  const started = performance.now();
  const verdict = await h.run('access', conf, ctx);
  return { verdict, ms: performance.now() - started };
}

describe('limit-req: checks', () => {
  test('rate > 0, burst >= 0 and key are required (or rules); defaults as APISIX', () => {
    assert.match(h.check({ rate: 1, burst: 1 }) ?? '', /failed to check the configuration of plugin limit-req err: value should match only one schema/);
    assert.match(h.check({ rate: 0, burst: 1, key: 'remote_addr' }) ?? '', /property "rate" validation failed/);
    assert.match(h.check({ rate: 1, burst: -1, key: 'remote_addr' }) ?? '', /property "burst" validation failed/);
    assert.match(h.check({ rate: 1, burst: 1, key: 'remote_addr', rejected_code: 600 }) ?? '', /property "rejected_code" validation failed/);
    const conf = h.conf({ rate: 1, burst: 1, key: 'remote_addr' });
    assert.deepEqual(
      [conf.key_type, conf.rejected_code, conf.nodelay, conf.allow_degradation, conf.policy],
      ['var', 503, false, false, 'local'],
    );
  });

  test('rules: keys unique; not together with rate/burst/key', () => {
    const rule = { rate: 1, burst: 0, key: '$remote_addr' };
    assert.match(h.check({ rules: [rule, rule] }) ?? '', /err: duplicate key '\$remote_addr' in rules$/);
    assert.match(h.check({ rate: 1, burst: 1, key: 'remote_addr', rules: [rule] }) ?? '', /value should match only one schema/);
  });

  test('redis needs redis_host and gets its defaults; redis-cluster is refused with the reason', () => {
    assert.match(h.check({ rate: 1, burst: 1, key: 'remote_addr', policy: 'redis' }) ?? '', /then clause did not match/);
    const conf = h.conf({ rate: 1, burst: 1, key: 'remote_addr', policy: 'redis', redis_host: '127.0.0.1' });
    assert.deepEqual(
      [conf.redis_port, conf.redis_database, conf.redis_timeout, conf.redis_keepalive_timeout, conf.redis_keepalive_pool],
      [6379, 0, 1000, 10000, 100],
    );
    assert.match(
      h.check({ rate: 1, burst: 1, key: 'remote_addr', policy: 'redis-cluster', redis_cluster_nodes: ['127.0.0.1:7000'], redis_cluster_name: 'c' }) ?? '',
      /err: policy "redis-cluster" is not supported by fngate yet, only "local" and "redis" are$/,
    );
  });
});

describe('limit-req: local buckets', () => {
  test('nodelay: rate + burst requests pass at once, then rejected_code with the message', async () => {
    const conf = h.conf({ rate: 1, burst: 1, key: 'remote_addr', nodelay: true, rejected_code: 429, rejected_msg: 'slow down' });
    const confId = nextRoute();
    const first = await hit(conf, { confId });
    const second = await hit(conf, { confId });
    assert.equal(first.verdict, undefined);
    assert.equal(second.verdict, undefined);
    assert.ok(second.ms < 200, `nodelay: no wait, took ${second.ms} ms`);
    assert.deepEqual((await hit(conf, { confId })).verdict, [429, { error_msg: 'slow down' }]);
  });

  test('without nodelay an excess request waits excess / rate seconds, without holding up other requests', async () => {
    const conf = h.conf({ rate: 4, burst: 2, key: 'http_x_client' });
    const confId = nextRoute();
    assert.equal((await hit(conf, { confId, headers: { 'x-client': 'a' } })).verdict, undefined);
    const slow = hit(conf, { confId, headers: { 'x-client': 'a' } }); // excess 1: 0.25 s
    const other = await hit(conf, { confId, headers: { 'x-client': 'b' } });
    assert.ok(other.ms < 100, `another key answers at once while the first waits, took ${other.ms} ms`);
    const waited = await slow;
    assert.equal(waited.verdict, undefined);
    assert.ok(waited.ms >= 200, `waited about 250 ms, took ${waited.ms} ms`);
  });

  test('beyond the burst: the bare rejected_code (503 by default)', async () => {
    const conf = h.conf({ rate: 0.1, burst: 0, key: 'remote_addr' });
    const confId = nextRoute();
    assert.equal((await hit(conf, { confId })).verdict, undefined);
    assert.equal((await hit(conf, { confId })).verdict, 503);
    assert.equal((await hit(conf, { confId, remoteAddr: '10.1.1.1' })).verdict, undefined, 'another client has its own bucket');
  });

  test('keys: a variable falling back to the client address; a $var combination', async () => {
    const byHeader = h.conf({ rate: 0.1, burst: 0, key: 'http_x_api_key' });
    const confId = nextRoute();
    assert.equal((await hit(byHeader, { confId, headers: { 'x-api-key': 'k1' } })).verdict, undefined);
    assert.equal((await hit(byHeader, { confId, headers: { 'x-api-key': 'k2' } })).verdict, undefined);
    assert.equal((await hit(byHeader, { confId, headers: { 'x-api-key': 'k1' } })).verdict, 503);
    assert.equal((await hit(byHeader, { confId, remoteAddr: '10.2.0.1' })).verdict, undefined, 'no header: the client address');
    assert.equal((await hit(byHeader, { confId, remoteAddr: '10.2.0.1' })).verdict, 503);

    const combo = h.conf({ rate: 0.1, burst: 0, key_type: 'var_combination', key: '$remote_addr $arg_user' });
    assert.equal((await hit(combo, { confId, target: '/x?user=u1' })).verdict, undefined);
    assert.equal((await hit(combo, { confId, target: '/x?user=u2' })).verdict, undefined);
    assert.equal((await hit(combo, { confId, target: '/x?user=u1' })).verdict, 503);
  });

  test('buckets belong to a configuration: another route, or new settings, start afresh', async () => {
    const conf = h.conf({ rate: 0.1, burst: 0, key: 'remote_addr' });
    const confId = nextRoute();
    assert.equal((await hit(conf, { confId })).verdict, undefined);
    assert.equal((await hit(conf, { confId: nextRoute() })).verdict, undefined);
    assert.equal((await hit(conf, { confId })).verdict, 503);
    assert.equal((await hit(h.conf({ rate: 0.1, burst: 0, key: 'remote_addr', rejected_code: 429 }), { confId })).verdict, undefined);
  });

  test('rate and burst from variables; a value that does not resolve fails with 500 unless degradation is allowed', async () => {
    const conf = h.conf({ rate: '$http_x_rate', burst: '0', key: 'remote_addr' });
    const confId = nextRoute();
    assert.equal((await hit(conf, { confId, headers: { 'x-rate': '0.1' } })).verdict, undefined);
    assert.equal((await hit(conf, { confId, headers: { 'x-rate': '0.1' } })).verdict, 503);
    assert.equal((await hit(conf, { confId, headers: { 'x-rate': 'fast' } })).verdict, 500);
    assert.equal((await hit(conf, { confId, headers: { 'x-rate': '0' } })).verdict, 500, 'a rate must stay above 0');
    const lenient = h.conf({ rate: '$http_x_rate', burst: 0, key: 'remote_addr', allow_degradation: true });
    assert.equal((await hit(lenient, { confId })).verdict, undefined);
  });

  test('rules: each applies its own bucket in turn; a rule whose key or rate does not resolve does not apply', async () => {
    const conf = h.conf({
      rules: [
        { rate: 0.1, burst: 1, key: '$remote_addr' },
        { rate: 0.1, burst: 0, key: 'user-$http_x_user' },
        { rate: '$http_x_rate', burst: 0, key: 'rated-$remote_addr' },
      ],
      nodelay: true,
    });
    const confId = nextRoute();
    assert.equal((await hit(conf, { confId, headers: { 'x-user': 'u1' } })).verdict, undefined);
    assert.equal((await hit(conf, { confId, headers: { 'x-user': 'u1' } })).verdict, 503, 'the user rule refuses');
    assert.equal((await hit(conf, { confId, headers: { 'x-user': 'u2' } })).verdict, 503, 'the address rule is past its burst now');
    assert.equal((await hit(conf, { confId, remoteAddr: '10.3.0.1' })).verdict, undefined, 'no user: only the address rule applies');
    assert.equal((await hit(conf, { confId, remoteAddr: '10.3.0.1' })).verdict, undefined, 'within its burst');
  });
});

describe('limit-req: redis policy', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    closeRedisConnections();
    await redis.destroy();
  });

  test('buckets in Redis: state shared by every user of the server; delay, nodelay and rejection as locally', async () => {
    const settings = { rate: 2, burst: 1, key: 'http_x_client', policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port };
    const confId = nextRoute();
    const conf = h.conf({ ...settings });
    assert.equal((await hit(conf, { confId, headers: { 'x-client': 'r' } })).verdict, undefined);
    // A second compiled copy of the same settings (another node) sees the same bucket.
    const sameOnAnotherNode = h.conf({ ...settings });
    const delayed = await hit(sameOnAnotherNode, { confId, headers: { 'x-client': 'r' } });
    assert.equal(delayed.verdict, undefined);
    assert.ok(delayed.ms >= 300, `waited about 0.5 s, took ${delayed.ms} ms`);
    const keys = await redis.client.keys('limit_req:*');
    assert.equal(keys.length, 1, keys.join(' '));

    const quick = h.conf({ ...settings, rate: 0.1, nodelay: true, rejected_code: 429 });
    assert.equal((await hit(quick, { confId, headers: { 'x-client': 's' } })).verdict, undefined);
    const second = await hit(quick, { confId, headers: { 'x-client': 's' } });
    assert.equal(second.verdict, undefined);
    assert.ok(second.ms < 200, `nodelay, took ${second.ms} ms`);
    assert.equal((await hit(quick, { confId, headers: { 'x-client': 's' } })).verdict, 429);
  });

  test('Redis down: 500 (nothing else said), or the request passes with allow_degradation', async () => {
    const port = await freePort();
    const base = { rate: 1, burst: 0, key: 'remote_addr', policy: 'redis', redis_host: '127.0.0.1', redis_port: port };
    const confId = nextRoute();
    assert.equal((await hit(h.conf(base), { confId })).verdict, 500);
    assert.equal((await hit(h.conf({ ...base, allow_degradation: true }), { confId })).verdict, undefined);
  });
});
