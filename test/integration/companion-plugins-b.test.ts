/**
 * limit-req, limit-count's redis policy, fault-injection and mocking
 * through the real gateway: counts shared exactly by two gateway processes
 * on one Redis, Redis outages with and without allow_degradation, delays
 * vs nodelay vs rejection, fault percentages and rules, mock bodies, and
 * the Admin API refusing bad configurations.
 *
 * Needs redis-server (fails, does not skip, without it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const REDIS_PASSWORD = 'companion-b';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly ms: number;
}

async function get(gw: GatewayProcess, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const started = performance.now();
  const res = await request(`${gw.proxyUrl}${path}`, { headers });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started };
}

/** PUT a route and wait until the gateway serves it (the probe carries no limit key header). */
async function putRoute(gw: GatewayProcess, id: string, body: Record<string, unknown>, probe: string): Promise<void> {
  const put = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, body);
  assert.ok(put.status === 200 || put.status === 201, put.text);
  await waitFor(async () => (await get(gw, probe)).status !== 404, { what: `route ${id}` });
}

async function refused(gw: GatewayProcess, plugins: Record<string, unknown>): Promise<string> {
  const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/bad', { uri: '/bad', plugins, upstream: { nodes: { '127.0.0.1:1': 1 } } });
  assert.equal(res.status, 400, res.text);
  return (res.json as { error_msg: string }).error_msg;
}

describe('companion plugins b', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  let redis: RedisServer;

  before(async () => {
    // A password: redis_password is encrypted at rest, and must reach the plugins decrypted.
    redis = await startRedis({ password: REDIS_PASSWORD });
    up = await startUpstream('up');
    gw = await startGatewayProcess();
  });
  after(async () => {
    await gw?.stop();
    gw?.cleanup();
    await up?.close();
    await redis?.destroy();
  });

  describe('limit-count, policy redis', () => {
    test('two gateway processes (one of them with two workers) share one exact total', async () => {
      const second = await startGatewayProcess({ config: { nginx_config: { worker_processes: 2 } } });
      try {
        const route = {
          uri: '/lcr/shared',
          upstream: { nodes: { [up.node]: 1 } },
          plugins: { 'limit-count': { count: 20, time_window: 60, key: 'http_x_who', policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_password: REDIS_PASSWORD } },
        };
        await putRoute(gw, 'lcr1', route, '/lcr/shared');
        await putRoute(second, 'lcr1', route, '/lcr/shared');
        const who = { 'x-who': 'two-gateways' };
        const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => get(i % 2 === 0 ? gw : second, '/lcr/shared', who)));
        const passed = replies.filter((r) => r.status === 200);
        assert.equal(passed.length, 20, replies.map((r) => r.status).join(' '));
        assert.ok(replies.every((r) => r.status === 200 || r.status === 503));
        const remaining = passed.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => a - b);
        assert.deepEqual(remaining, Array.from({ length: 20 }, (_, i) => i), 'every remaining value handed out once');
        const rejected = replies.find((r) => r.status === 503);
        assert.equal(rejected?.headers['x-ratelimit-limit'], '20');
        assert.equal(rejected?.headers['x-ratelimit-remaining'], '0');
      } finally {
        await second.stop();
        second.cleanup();
      }
    });

    test('Redis down: 500 "failed to limit count", or passing under allow_degradation; counting resumes when it is back', async () => {
      const limit = { count: 100, time_window: 60, key: 'http_x_who', policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_password: REDIS_PASSWORD, redis_timeout: 300 };
      await putRoute(gw, 'lcr2', { uri: '/lcr/strict', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': limit } }, '/lcr/strict');
      await putRoute(gw, 'lcr3', { uri: '/lcr/lenient', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': { ...limit, allow_degradation: true } } }, '/lcr/lenient');
      const who = { 'x-who': 'outage' };
      assert.equal((await get(gw, '/lcr/strict', who)).status, 200);

      await redis.stop();
      const strict = await get(gw, '/lcr/strict', who);
      assert.equal(strict.status, 500);
      assert.equal(strict.body, '{"error_msg":"failed to limit count"}\n');
      assert.ok(strict.ms < 1_500, `bounded by redis_timeout, took ${strict.ms} ms`);
      const lenient = await get(gw, '/lcr/lenient', who);
      assert.equal(lenient.status, 200);
      assert.equal(lenient.headers['x-ratelimit-limit'], undefined, 'nothing was counted');
      assert.match(gw.output(), /failed to limit count: redis 127\.0\.0\.1:\d+ is unavailable/);

      await redis.start();
      await waitFor(async () => (await get(gw, '/lcr/strict', who)).status === 200, { timeoutMs: 5_000, what: 'counting in Redis again' });
      const back = await get(gw, '/lcr/strict', who);
      assert.equal(back.headers['x-ratelimit-remaining'], '98', 'the restarted (empty) Redis counts from its first request');
    });
  });

  describe('limit-req', () => {
    test('within the rate at once, excess delayed, beyond the burst rejected; nodelay does not wait', async () => {
      await putRoute(gw, 'lr1', {
        uri: '/lr/delay',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'limit-req': { rate: 2, burst: 1, key: 'http_x_who', rejected_code: 429 } },
      }, '/lr/delay');
      const who = { 'x-who': 'delay' };
      assert.equal((await get(gw, '/lr/delay', who)).status, 200);
      const [a, b] = await Promise.all([get(gw, '/lr/delay', who), get(gw, '/lr/delay', who)]);
      const delayed = a.status === 200 ? a : b;
      const rejected = a.status === 200 ? b : a;
      assert.equal(delayed.status, 200);
      assert.ok(delayed.ms >= 350, `the excess request waited about 0.5 s, took ${delayed.ms} ms`);
      assert.equal(rejected.status, 429);
      assert.ok(rejected.ms < delayed.ms, 'the rejection did not wait');

      await putRoute(gw, 'lr2', {
        uri: '/lr/nodelay',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'limit-req': { rate: 0.5, burst: 1, key: 'http_x_who', nodelay: true, rejected_msg: 'too fast' } },
      }, '/lr/nodelay');
      const fast = { 'x-who': 'nodelay' };
      const first = await get(gw, '/lr/nodelay', fast);
      const second = await get(gw, '/lr/nodelay', fast);
      assert.deepEqual([first.status, second.status], [200, 200]);
      assert.ok(second.ms < 300, `nodelay: took ${second.ms} ms`);
      const third = await get(gw, '/lr/nodelay', fast);
      assert.equal(third.status, 503);
      assert.equal(third.body, '{"error_msg":"too fast"}\n');
    });

    test('policy redis: the bucket is kept in Redis', async () => {
      await putRoute(gw, 'lr3', {
        uri: '/lr/redis',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'limit-req': { rate: 0.5, burst: 0, key: 'http_x_who', policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_password: REDIS_PASSWORD } },
      }, '/lr/redis');
      const who = { 'x-who': 'in-redis' };
      assert.equal((await get(gw, '/lr/redis', who)).status, 200);
      assert.equal((await get(gw, '/lr/redis', who)).status, 503);
      const keys = await redis.client.keys('limit_req:*in-redis*');
      assert.equal(keys.length, 1);
    });
  });

  describe('fault-injection', () => {
    test('abort at 100 %: status, $var body and headers, the upstream never called; at 0 % the request goes through', async () => {
      const before = up.received.length;
      await putRoute(gw, 'fi1', {
        uri: '/fi/abort',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'fault-injection': { abort: { http_status: 418, body: 'teapot for $http_x_who\n', headers: { 'X-Fault': 'yes', 'X-Client': '$remote_addr' }, percentage: 100 } } },
      }, '/fi/abort');
      const res = await get(gw, '/fi/abort', { 'x-who': 'alice' });
      assert.equal(res.status, 418);
      assert.equal(res.body, 'teapot for alice\n');
      assert.equal(res.headers['x-fault'], 'yes');
      assert.equal(res.headers['x-client'], '127.0.0.1');
      assert.equal(up.received.length, before);

      await putRoute(gw, 'fi2', {
        uri: '/fi/never',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'fault-injection': { abort: { http_status: 500, percentage: 0 } } },
      }, '/fi/never');
      for (let i = 0; i < 20; i++) assert.equal((await get(gw, '/fi/never')).status, 200);
    });

    test('abort at 30 %: a share of a large sample near 30 %', async () => {
      await putRoute(gw, 'fi3', {
        uri: '/fi/some',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'fault-injection': { abort: { http_status: 503, body: 'chaos', percentage: 30 } } },
      }, '/fi/some');
      let aborted = 0;
      for (let i = 0; i < 300; i++) if ((await get(gw, '/fi/some')).status === 503) aborted++;
      // Binomial(300, 0.3): mean 90, standard deviation ~8; the band is about ±5 deviations.
      assert.ok(aborted >= 50 && aborted <= 130, `aborted ${aborted} of 300`);
    });

    test('delay only for requests matching vars; abort vars as an OR of rules', async () => {
      await putRoute(gw, 'fi4', {
        uri: '/fi/vars',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: {
          'fault-injection': {
            delay: { duration: 0.4, vars: [[['http_x_slow', '==', 'yes']]] },
            abort: { http_status: 403, body: 'Fault Injection!\n', vars: [[['arg_name', '==', 'jack'], ['arg_age', '==', 18]], [['arg_name', '==', 'allen']]] },
          },
        },
      }, '/fi/vars');
      const plain = await get(gw, '/fi/vars?name=jack');
      assert.equal(plain.status, 200);
      assert.ok(plain.ms < 300, `no delay, took ${plain.ms} ms`);
      const slow = await get(gw, '/fi/vars', { 'x-slow': 'yes' });
      assert.equal(slow.status, 200);
      assert.ok(slow.ms >= 350, `delayed about 0.4 s, took ${slow.ms} ms`);
      assert.equal((await get(gw, '/fi/vars?name=jack&age=18')).status, 403);
      const allen = await get(gw, '/fi/vars?name=allen');
      assert.equal(allen.status, 403);
      assert.equal(allen.body, 'Fault Injection!\n');
    });
  });

  describe('mocking', () => {
    test('an example answered for the upstream, with $var, status, content type and the mock header', async () => {
      const before = up.received.length;
      await putRoute(gw, 'mk1', {
        uri: '/mock/example',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { mocking: { response_status: 201, response_example: '{"a":1,"user":"$arg_user"}', response_headers: { 'X-Env': 'test' } } },
      }, '/mock/example');
      const res = await get(gw, '/mock/example?user=bob');
      assert.equal(res.status, 201);
      assert.equal(res.body, '{"a":1,"user":"bob"}');
      assert.equal(res.headers['content-type'], 'application/json;charset=utf8');
      assert.match(String(res.headers['x-mock-by']), /^fngate\/\d+\.\d+\.\d+/);
      assert.equal(res.headers['x-env'], 'test');
      assert.equal(up.received.length, before, 'the upstream is never called');
    });

    test('a body generated from response_schema, as JSON and as XML', async () => {
      const schema = {
        type: 'object',
        properties: {
          id: { type: 'integer', example: 7 },
          name: { type: 'string' },
          tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } },
        },
      };
      await putRoute(gw, 'mk2', { uri: '/mock/json', upstream: { nodes: { [up.node]: 1 } }, plugins: { mocking: { response_schema: schema } } }, '/mock/json');
      const json = JSON.parse((await get(gw, '/mock/json')).body) as { id: number; name: string; tags: string[] };
      assert.equal(json.id, 7);
      assert.match(json.name, /^[a-z]{1,10}$/);
      assert.ok(json.tags.length >= 1 && json.tags.every((t) => t === 'a' || t === 'b'));

      await putRoute(gw, 'mk3', {
        uri: '/mock/xml',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { mocking: { response_schema: schema, content_type: 'application/xml', with_mock_header: false } },
      }, '/mock/xml');
      const xml = await get(gw, '/mock/xml');
      assert.match(xml.body, /^<data>\n {2}<id>7<\/id>\n {2}<name>[a-z]+<\/name>\n( {2}<tags>[ab]<\/tags>\n)+<\/data>\n$/);
      assert.equal(xml.headers['content-type'], 'application/xml');
      assert.equal(xml.headers['x-mock-by'], undefined);
    });
  });

  describe('the Admin API refuses bad configurations with the reason', () => {
    test('limit-req, limit-count, fault-injection, mocking', async () => {
      assert.match(await refused(gw, { 'limit-req': { rate: 0, burst: 1, key: 'remote_addr' } }), /^failed to check the configuration of plugin limit-req err: property "rate" validation failed/);
      assert.equal(
        await refused(gw, { 'limit-req': { rate: 1, burst: 1, key: 'remote_addr', policy: 'redis-cluster', redis_cluster_nodes: ['127.0.0.1:7000'], redis_cluster_name: 'c' } }),
        'failed to check the configuration of plugin limit-req err: policy "redis-cluster" is not supported by fngate yet, only "local" and "redis" are',
      );
      assert.match(await refused(gw, { 'limit-count': { count: 1, time_window: 60, policy: 'redis' } }), /^failed to check the configuration of plugin limit-count err: .*then clause did not match/);
      assert.equal(await refused(gw, { 'fault-injection': {} }), 'failed to check the configuration of plugin fault-injection err: expect object to have at least 1 properties');
      assert.equal(
        await refused(gw, { 'fault-injection': { abort: { http_status: 403, vars: [['arg_name', '==', 'jack']] } } }),
        'failed to check the configuration of plugin fault-injection err: rule should be wrapped inside brackets',
      );
      assert.equal(await refused(gw, { mocking: { response_example: 'x', content_type: 'image/png' } }), 'failed to check the configuration of plugin mocking err: unsupported content type!');
    });
  });
});
