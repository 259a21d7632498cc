import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamConfigError } from '../errors.js';
import { readHealthChecks, STATUS_HEALTHY, STATUS_IGNORED, STATUS_UNHEALTHY } from './settings.js';

test('an empty active object gets every default of spec/routing.md §5.3; no passive without checks.passive', () => {
  const { active, passive } = readHealthChecks({ active: {} });
  assert.equal(passive, undefined);
  assert.equal(active.type, 'http');
  assert.equal(active.timeoutMs, 1000);
  assert.equal(active.concurrency, 10);
  assert.equal(active.httpPath, '/');
  assert.equal(active.httpMethod, 'GET');
  assert.equal(active.verifyCertificate, true);
  assert.equal(active.healthyIntervalMs, 1000);
  assert.equal(active.unhealthyIntervalMs, 1000);
  assert.deepEqual(
    { successes: active.limits.successes, http: active.limits.httpFailures, tcp: active.limits.tcpFailures, timeouts: active.limits.timeouts },
    { successes: 2, http: 5, tcp: 2, timeouts: 3 },
  );
  assert.equal(active.limits.statuses[200], STATUS_HEALTHY);
  assert.equal(active.limits.statuses[302], STATUS_HEALTHY);
  assert.equal(active.limits.statuses[404], STATUS_UNHEALTHY);
  assert.equal(active.limits.statuses[403], STATUS_IGNORED);
});

test('passive defaults, and configured values win', () => {
  const { active, passive } = readHealthChecks({
    active: { type: 'tcp', timeout: 0.5, port: 8080, healthy: { interval: 3, successes: 1 }, unhealthy: { http_statuses: [500], tcp_failures: 1 } },
    passive: {},
  });
  assert.equal(active.type, 'tcp');
  assert.equal(active.timeoutMs, 500);
  assert.equal(active.port, 8080);
  assert.equal(active.healthyIntervalMs, 3000);
  assert.equal(active.limits.successes, 1);
  assert.equal(active.limits.tcpFailures, 1);
  assert.equal(active.limits.statuses[500], STATUS_UNHEALTHY);
  assert.equal(active.limits.statuses[502], STATUS_IGNORED);
  assert.ok(passive);
  assert.deepEqual(
    { successes: passive.limits.successes, http: passive.limits.httpFailures, tcp: passive.limits.tcpFailures, timeouts: passive.limits.timeouts },
    { successes: 5, http: 5, tcp: 2, timeouts: 7 },
  );
  assert.equal(passive.limits.statuses[226], STATUS_HEALTHY);
  assert.equal(passive.limits.statuses[503], STATUS_UNHEALTHY);
  assert.equal(passive.limits.statuses[404], STATUS_IGNORED);
});

test('req_headers become a flat list; an entry without a name is refused', () => {
  const { active } = readHealthChecks({ active: { req_headers: ['User-Agent: probe/1', 'X-Check:yes'] } });
  assert.deepEqual(active.headers, ['User-Agent', 'probe/1', 'X-Check', 'yes']);
  assert.throws(() => readHealthChecks({ active: { req_headers: ['no colon'] } }), UpstreamConfigError);
});
