/**
 * limit-count's checks and access phase on real request contexts with
 * in-process counters: limits, headers, keys, per-configuration and
 * per-group counters, variable limits, rules, metadata header names,
 * asynchronous counters and counter failures.
 */
import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SharedCounters } from '../pdk/context.js';
import { memoryCounters, pendingResponseHeaders, PluginHarness, type HarnessRequest } from '../../test/helpers/plugin-harness.js';
import limitCount, { resetLimitCountGroups } from './limit-count.js';

const h = new PluginHarness(limitCount);

beforeEach(() => resetLimitCountGroups());

async function hit(conf: Record<string, unknown>, options: HarnessRequest & { target?: string } = {}) {
  const ctx = h.request(options.target ?? '/x', options);
  const verdict = await h.run('access', conf, ctx);
  return { verdict, headers: pendingResponseHeaders(ctx) };
}

describe('limit-count: checks', () => {
  test('count and time_window are positive; rejected_code is 200..599; defaults as APISIX', () => {
    assert.match(h.check({ count: 0, time_window: 60 }) ?? '', /failed to check the configuration of plugin limit-count/);
    assert.match(h.check({ count: 1, time_window: 60, rejected_code: 600 }) ?? '', /property "rejected_code" validation failed/);
    const conf = h.conf({ count: 1, time_window: 60 });
    assert.deepEqual(
      [conf.key, conf.key_type, conf.rejected_code, conf.policy, conf.allow_degradation, conf.show_limit_quota_header, conf.window_type],
      ['remote_addr', 'var', 503, 'local', false, true, 'fixed'],
    );
  });

  test('redis needs redis_host; the other Redis policies validate against their schema but are refused as not supported yet', () => {
    assert.match(h.check({ count: 1, time_window: 60, policy: 'redis' }) ?? '', /then clause did not match/, 'redis_host is required');
    assert.equal(h.check({ count: 1, time_window: 60, policy: 'redis', redis_host: '127.0.0.1' }), undefined);
    assert.match(h.check({ count: 1, time_window: 60, policy: 'redis-cluster', redis_cluster_nodes: ['a:1'], redis_cluster_name: 'c' }) ?? '', /err: policy "redis-cluster" is not supported by fngate yet, only "local" and "redis" are$/);
    assert.match(h.check({ count: 1, time_window: 60, window_type: 'sliding' }) ?? '', /window_type "sliding" is not supported by fngate yet/);
  });

  test('rules: not with count/time_window, not with group, keys unique', () => {
    const rule = { count: 1, time_window: 1, key: '$remote_addr' };
    assert.match(h.check({ count: 1, rules: [rule] }) ?? '', /count\/time_window and rules cannot be specified at the same time/);
    assert.match(h.check({ group: 'g', rules: [rule] }) ?? '', /group and rules cannot be specified at the same time/);
    assert.match(h.check({ rules: [rule, rule] }) ?? '', /duplicate key '\$remote_addr' in rules/);
  });

  test('members of a group must share one configuration', () => {
    assert.equal(h.check({ count: 2, time_window: 60, group: 'shared' }), undefined);
    assert.equal(h.check({ time_window: 60, count: 2, group: 'shared' }), undefined, 'same settings in another order');
    assert.match(h.check({ count: 3, time_window: 60, group: 'shared' }) ?? '', /err: group conf mismatched$/);
  });

  test('the metadata schema holds the header names', () => {
    assert.equal(h.registry.checkMetadata('limit-count', { id: 'limit-count', limit_header: 'X-Quota' }, false), undefined);
  });
});

describe('limit-count: counting', () => {
  test('count requests pass with decreasing Remaining, then rejected_code with Remaining 0', async () => {
    const conf = h.conf({ count: 2, time_window: 60, rejected_code: 429, rejected_msg: 'slow down' });
    const counters = memoryCounters();
    const first = await hit(conf, { counters });
    assert.equal(first.verdict, undefined);
    assert.deepEqual(first.headers, { 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 1, 'x-ratelimit-reset': 60 });
    assert.equal((await hit(conf, { counters })).headers['x-ratelimit-remaining'], 0);
    const third = await hit(conf, { counters });
    assert.deepEqual(third.verdict, [429, { error_msg: 'slow down' }]);
    assert.deepEqual(third.headers, { 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 0, 'x-ratelimit-reset': 60 });
  });

  test('without rejected_msg the rejection is the bare code; show_limit_quota_header false hides the headers', async () => {
    const conf = h.conf({ count: 1, time_window: 60, show_limit_quota_header: false });
    const counters = memoryCounters();
    assert.deepEqual((await hit(conf, { counters })).headers, {});
    assert.equal((await hit(conf, { counters })).verdict, 503);
  });

  test('keys: a variable, falling back to the client address; a combination; a constant', async () => {
    const byHeader = h.conf({ count: 1, time_window: 60, key: 'http_x_api_key' });
    const counters = memoryCounters();
    assert.equal((await hit(byHeader, { counters, headers: { 'x-api-key': 'a' } })).verdict, undefined);
    assert.equal((await hit(byHeader, { counters, headers: { 'x-api-key': 'b' } })).verdict, undefined);
    assert.equal((await hit(byHeader, { counters, headers: { 'x-api-key': 'a' } })).verdict, 503);
    assert.equal((await hit(byHeader, { counters, remoteAddr: '10.0.0.1' })).verdict, undefined, 'no key: the client address');
    assert.equal((await hit(byHeader, { counters, remoteAddr: '10.0.0.1' })).verdict, 503);

    const combo = h.conf({ count: 1, time_window: 60, key_type: 'var_combination', key: '$remote_addr-$arg_user' });
    assert.equal((await hit(combo, { counters, target: '/x?user=u1' })).verdict, undefined);
    assert.equal((await hit(combo, { counters, target: '/x?user=u2' })).verdict, undefined);
    assert.equal((await hit(combo, { counters, target: '/x?user=u1' })).verdict, 503);

    const constant = h.conf({ count: 1, time_window: 60, key_type: 'constant', key: 'everyone' });
    assert.equal((await hit(constant, { counters, remoteAddr: '10.0.0.2' })).verdict, undefined);
    assert.equal((await hit(constant, { counters, remoteAddr: '10.0.0.3' })).verdict, 503);
  });

  test('each configuration counts apart (route identity + settings); a group shares one counter', async () => {
    const counters = memoryCounters();
    const conf = h.conf({ count: 1, time_window: 60 });
    assert.equal((await hit(conf, { counters, confId: 'r1' })).verdict, undefined);
    assert.equal((await hit(conf, { counters, confId: 'r2' })).verdict, undefined, 'another route has its own counter');
    assert.equal((await hit(conf, { counters, confId: 'r1' })).verdict, 503);
    assert.equal((await hit(h.conf({ count: 1, time_window: 61 }), { counters, confId: 'r1' })).verdict, undefined, 'new settings start afresh');

    const g1 = h.conf({ count: 1, time_window: 60, group: 'team' });
    const g2 = h.conf({ count: 1, time_window: 60, group: 'team' });
    assert.equal((await hit(g1, { counters, confId: 'r3' })).verdict, undefined);
    assert.equal((await hit(g2, { counters, confId: 'r4' })).verdict, 503);
    assert.ok(counters.keys().includes('limit-count:team:127.0.0.1'), counters.keys().join(' '));
  });

  test('count and time_window may come from variables; a bad value fails with 500 unless degradation is allowed', async () => {
    const conf = h.conf({ count: '$http_x_quota', time_window: '60' });
    const counters = memoryCounters();
    assert.equal((await hit(conf, { counters, headers: { 'x-quota': '1' } })).headers['x-ratelimit-limit'], 1);
    assert.equal((await hit(conf, { counters, headers: { 'x-quota': '1' } })).verdict, 503);
    assert.equal((await hit(conf, { counters, headers: { 'x-quota': '5' } })).verdict, undefined, 'the same counter, a larger quota');
    assert.equal((await hit(conf, { counters, headers: { 'x-quota': 'lots' } })).verdict, 500);
    assert.equal((await hit(conf, { counters, headers: { 'x-quota': '1.5' } })).verdict, 500);
    const lenient = h.conf({ count: '$http_x_quota', time_window: 60, allow_degradation: true });
    assert.equal((await hit(lenient, { counters })).verdict, undefined);
  });

  test('rules apply several limits, each with prefixed headers; a rule whose key is empty does not apply', async () => {
    const conf = h.conf({
      rules: [
        { count: 3, time_window: 60, key: '$remote_addr' },
        { count: 1, time_window: 10, key: 'user-$http_x_user', header_prefix: 'User' },
      ],
    });
    const counters = memoryCounters();
    const anonymous = await hit(conf, { counters });
    assert.equal(anonymous.verdict, undefined);
    assert.deepEqual(anonymous.headers, { 'x-1-ratelimit-limit': 3, 'x-1-ratelimit-remaining': 2, 'x-1-ratelimit-reset': 60 });
    const user = await hit(conf, { counters, headers: { 'x-user': 'ann' } });
    assert.equal(user.headers['x-user-ratelimit-remaining'], 0);
    assert.equal((await hit(conf, { counters, headers: { 'x-user': 'ann' } })).verdict, 503);
  });

  test('header names come from plugin metadata', async () => {
    const conf = h.conf({ count: 5, time_window: 60 });
    const metadata = { 'limit-count': { limit_header: 'X-Quota', remaining_header: 'X-Quota-Left', reset_header: 'X-Quota-Reset' } };
    const res = await hit(conf, { metadata });
    assert.deepEqual(Object.keys(res.headers), ['x-quota', 'x-quota-left', 'x-quota-reset']);
  });

  test('asynchronous counters (several workers) are awaited; a failing counter answers 500 unless degradation is allowed', async () => {
    const local = memoryCounters();
    const remote: SharedCounters = { incr: (key, delta, window) => Promise.resolve(local.incr(key, delta, window)) };
    const conf = h.conf({ count: 1, time_window: 60 });
    assert.equal((await hit(conf, { counters: remote })).verdict, undefined);
    assert.equal((await hit(conf, { counters: remote })).verdict, 503);

    const broken: SharedCounters = { incr: () => Promise.reject(new Error('primary gone')) };
    assert.deepEqual((await hit(conf, { counters: broken })).verdict, [500, { error_msg: 'failed to limit count' }]);
    const throwing: SharedCounters = { incr: () => { throw new Error('boom'); } };
    assert.equal((await hit(h.conf({ count: 1, time_window: 60, allow_degradation: true }), { counters: throwing })).verdict, undefined);
  });

  test('with synchronous counters the phase answers synchronously', () => {
    const conf = h.conf({ count: 1, time_window: 60 });
    const ctx = h.request('/x');
    const result = (limitCount.access as (c: unknown, x: unknown) => unknown)(conf, ctx);
    assert.equal(result, undefined);
  });
});
