/** Checkers as compiled upstreams get them: shared while the same, stopped with their last holder. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileUpstream } from '../compile.js';
import { PoolManager } from '../pools.js';
import type { UpstreamConf } from '../types.js';
import { HealthCheckRegistry } from './registry.js';

const defaults = { keepalive: 320, keepalive_requests: 1000, keepalive_timeout: 60 };
const pools = new PoolManager({ lingerMs: 0 });
after(() => pools.close());

// Long intervals: these tests look at the registry, not at probes.
const checks = { active: { healthy: { interval: 300 }, unhealthy: { interval: 300 } } };
const nodes = { '127.0.0.1:1980': 1, '127.0.0.1:1981': 1 };

test('an upstream without checks has no health and starts no checker', () => {
  const healthChecks = new HealthCheckRegistry();
  const up = compileUpstream({ nodes }, { pools, defaults, healthChecks, key: '/apisix/upstreams/1' });
  assert.equal(up.health, undefined);
  assert.equal(healthChecks.size, 0);
  up.release();
});

test('compiling the same upstream twice shares one checker; it stops with the last release', () => {
  const healthChecks = new HealthCheckRegistry();
  const conf: UpstreamConf = { nodes, checks };
  const shared = compileUpstream(conf, { pools, defaults, healthChecks, key: '/apisix/upstreams/1' });
  // A route with its own timeout compiles a private view of the same upstream.
  const withTimeout = compileUpstream(conf, { pools, defaults, healthChecks, key: '/apisix/upstreams/1', routeTimeout: { connect: 1, send: 1, read: 1 } });
  assert.ok(shared.health);
  assert.equal(withTimeout.health, shared.health);
  assert.equal(healthChecks.size, 1);
  assert.deepEqual(healthChecks.statuses(), [
    { name: '/apisix/upstreams/1', ip: '127.0.0.1', port: 1980, healthy: true, state: 'healthy' },
    { name: '/apisix/upstreams/1', ip: '127.0.0.1', port: 1981, healthy: true, state: 'healthy' },
  ]);
  shared.release();
  shared.release();
  assert.equal(healthChecks.size, 1, 'a second release of the same upstream does not count');
  withTimeout.release();
  assert.equal(healthChecks.size, 0);
});

test('another key, other checks or other nodes make another checker', () => {
  const healthChecks = new HealthCheckRegistry();
  const compile = (conf: UpstreamConf, key: string) => compileUpstream(conf, { pools, defaults, healthChecks, key });
  const ups = [
    compile({ nodes, checks }, '/apisix/upstreams/1'),
    compile({ nodes, checks }, '/apisix/routes/1'),
    compile({ nodes, checks: { active: { ...checks.active, http_path: '/status' } } }, '/apisix/upstreams/1'),
    compile({ nodes: { '127.0.0.1:1980': 1 }, checks }, '/apisix/upstreams/1'),
    // Only the weight differs: the same targets, the same checker.
    compile({ nodes: { '127.0.0.1:1980': 5, '127.0.0.1:1981': 1 }, checks }, '/apisix/upstreams/1'),
  ];
  assert.equal(healthChecks.size, 4);
  assert.equal(ups[4]!.health, ups[0]!.health);
  for (const up of ups) up.release();
  assert.equal(healthChecks.size, 0);
});
