/**
 * fault-injection's checks and rewrite phase on real request contexts:
 * abort (status, `$var` body, headers), delay, percentages (0 and 100
 * exactly, 50 within a wide band), and `vars` as an OR of rules.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness, type HarnessRequest } from '../../test/helpers/plugin-harness.js';
import faultInjection from './fault-injection.js';

const h = new PluginHarness(faultInjection);

async function hit(conf: Record<string, unknown>, options: HarnessRequest & { target?: string } = {}) {
  const ctx = h.request(options.target ?? '/x', options);
  const started = performance.now();
  const verdict = await h.run('rewrite', conf, ctx);
  return { verdict, ms: performance.now() - started };
}

describe('fault-injection: checks', () => {
  test('abort or delay; their required fields and ranges', () => {
    assert.match(h.check({}) ?? '', /failed to check the configuration of plugin fault-injection err: expect object to have at least 1 properties/);
    assert.match(h.check({ abort: { body: 'x' } }) ?? '', /property "abort" validation failed: property "http_status" is required/);
    assert.match(h.check({ abort: { http_status: 199 } }) ?? '', /property "http_status" validation failed: expected 199 to be at least 200/);
    assert.match(h.check({ delay: { percentage: 50 } }) ?? '', /property "delay" validation failed: property "duration" is required/);
    assert.match(h.check({ delay: { duration: 1, percentage: 101 } }) ?? '', /property "percentage" validation failed/);
    assert.match(h.check({ abort: { http_status: 600 } }) ?? '', /err: abort\.http_status must be at most 599, got 600$/);
    assert.equal(h.check({ abort: { http_status: 200 }, delay: { duration: 0.5 } }), undefined);
  });

  test('vars must be valid lua-resty-expr rules; header names and values must be sendable', () => {
    assert.match(h.check({ abort: { http_status: 403, vars: [['arg_name', '==', 'jack']] } }) ?? '', /err: rule should be wrapped inside brackets$/);
    assert.match(h.check({ delay: { duration: 1, vars: [[['arg_a', 'like', 'b']]] } }) ?? '', /invalid operator 'like'/);
    assert.match(h.check({ abort: { http_status: 403, headers: { 'X-A': 'one\ntwo' } } }) ?? '', /invalid value of header X-A/);
    assert.match(h.check({ abort: { http_status: 403, headers: {} } }) ?? '', /property "headers" validation failed/);
  });
});

describe('fault-injection: abort', () => {
  test('http_status with the body, $var references resolved', async () => {
    const conf = h.conf({ abort: { http_status: 200, body: 'client addr: $remote_addr, ${arg_who ?? nobody}\n' } });
    assert.deepEqual((await hit(conf, { remoteAddr: '10.0.0.7' })).verdict, [200, 'client addr: 10.0.0.7, nobody\n']);
    assert.deepEqual((await hit(conf, { target: '/x?who=jack' })).verdict, [200, 'client addr: 127.0.0.1, jack\n']);
  });

  test('without a body, the bare status (the gateway adds its error page); headers with $var values', async () => {
    assert.equal((await hit(h.conf({ abort: { http_status: 503 } }))).verdict, 503);
    const conf = h.conf({ abort: { http_status: 429, headers: { 'Retry-After': 5, 'X-Client': '$remote_addr' } } });
    assert.deepEqual((await hit(conf)).verdict, [429, undefined, { 'Retry-After': '5', 'X-Client': '127.0.0.1' }]);
  });

  test('percentage 0 never aborts, 100 always does, 50 about half the time', async () => {
    const never = h.conf({ abort: { http_status: 500, percentage: 0 } });
    const always = h.conf({ abort: { http_status: 500, percentage: 100 } });
    const half = h.conf({ abort: { http_status: 500, percentage: 50 } });
    let aborted = 0;
    for (let i = 0; i < 400; i++) {
      assert.equal((await hit(never)).verdict, undefined);
      assert.equal((await hit(always)).verdict, 500);
      if ((await hit(half)).verdict === 500) aborted++;
    }
    // Binomial(400, 0.5): the band is over 10 standard deviations wide.
    assert.ok(aborted > 100 && aborted < 300, `aborted ${aborted} of 400`);
  });

  test('vars: one matching rule is enough (OR); the expressions inside a rule must all match (AND)', async () => {
    const conf = h.conf({
      abort: {
        http_status: 403,
        body: 'Fault Injection!\n',
        vars: [
          [['arg_name', '==', 'jack'], ['arg_age', '==', 18]],
          [['http_x_tester', '==', 'yes']],
        ],
      },
    });
    assert.equal((await hit(conf, { target: '/x?name=jack' })).verdict, undefined, 'half of the first rule');
    assert.deepEqual((await hit(conf, { target: '/x?name=jack&age=18' })).verdict, [403, 'Fault Injection!\n']);
    assert.deepEqual((await hit(conf, { headers: { 'x-tester': 'yes' } })).verdict, [403, 'Fault Injection!\n']);
    assert.equal((await hit(conf, { target: '/x?name=allen' })).verdict, undefined);
  });

  test('an empty vars list matches nothing, as in APISIX', async () => {
    assert.equal((await hit(h.conf({ abort: { http_status: 500, vars: [] } }))).verdict, undefined);
  });
});

describe('fault-injection: delay', () => {
  test('the request waits duration seconds and then goes on; with an abort, the abort comes after the wait', async () => {
    const delayed = await hit(h.conf({ delay: { duration: 0.2 } }));
    assert.equal(delayed.verdict, undefined);
    assert.ok(delayed.ms >= 180, `waited about 200 ms, took ${delayed.ms} ms`);
    const both = await hit(h.conf({ delay: { duration: 0.2 }, abort: { http_status: 502, body: 'late' } }));
    assert.deepEqual(both.verdict, [502, 'late']);
    assert.ok(both.ms >= 180, `waited before aborting, took ${both.ms} ms`);
  });

  test('percentage 0 and unmatched vars mean no wait; the phase then answers synchronously', async () => {
    const none = await hit(h.conf({ delay: { duration: 5, percentage: 0 } }));
    assert.ok(none.ms < 100, `no wait, took ${none.ms} ms`);
    const conf = h.conf({ delay: { duration: 5, vars: [[['http_age', '==', '18']]] } });
    const ctx = h.request('/x');
    const result = (faultInjection.rewrite as (c: unknown, x: unknown) => unknown)(conf, ctx);
    assert.equal(result, undefined);
    const matched = await hit(h.conf({ delay: { duration: 0.1, vars: [[['http_age', '==', '18']]] } }), { headers: { age: '18' } });
    assert.ok(matched.ms >= 80, `matched: waited, took ${matched.ms} ms`);
  });
});
