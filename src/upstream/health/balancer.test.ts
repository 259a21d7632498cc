import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeNodes, noVars, sequence } from '../../../test/upstream/balancer-fixtures.js';
import { createBalancer } from '../balancer/index.js';
import type { UpstreamHealth, UpstreamNode } from '../types.js';
import { withHealth } from './balancer.js';

/** Health as the balancer reads it, set by the test (the checker's counting has its own tests). */
class SetHealth implements UpstreamHealth {
  readonly down = new Set<string>();
  version = 0;
  get unhealthyNodes(): number {
    return this.down.size;
  }
  set(host: string, healthy: boolean): void {
    if (healthy) this.down.delete(host);
    else this.down.add(host);
    this.version++;
  }
  isHealthy(node: UpstreamNode): boolean {
    return !this.down.has(node.host);
  }
  reportStatus(): void {}
  reportTcpFailure(): void {}
  reportTimeout(): void {}
}

const nodes = makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]);

test('unhealthy nodes are skipped, and used again once healthy', () => {
  const health = new SetHealth();
  const balancer = withHealth(createBalancer('roundrobin', nodes, {}), health, nodes);
  const pick = () => balancer.pick(noVars, undefined);
  assert.deepEqual(new Set(sequence(pick, 6)), new Set(['a', 'b', 'c']));
  health.set('b', false);
  assert.deepEqual(new Set(sequence(pick, 6)), new Set(['a', 'c']));
  health.set('b', true);
  assert.deepEqual(new Set(sequence(pick, 6)), new Set(['a', 'b', 'c']));
});

test('when every node is unhealthy, every node is used (spec/routing.md §5.1)', () => {
  const health = new SetHealth();
  const balancer = withHealth(createBalancer('roundrobin', nodes, {}), health, nodes);
  for (const n of nodes) health.set(n.host, false);
  assert.deepEqual(new Set(sequence(() => balancer.pick(noVars, undefined), 6)), new Set(['a', 'b', 'c']));
});

test('a retry skips tried and unhealthy nodes; once every healthy node was tried there is none (502, as APISIX)', () => {
  const health = new SetHealth();
  const balancer = withHealth(createBalancer('roundrobin', nodes, {}), health, nodes);
  health.set('c', false);
  const [a, b] = nodes as [UpstreamNode, UpstreamNode, UpstreamNode];
  assert.equal(balancer.pick(noVars, new Set([a]))?.host, 'b');
  assert.equal(balancer.pick(noVars, new Set([a, b])), undefined);
});

test('with every node unhealthy, a retry still moves on to untried nodes', () => {
  const health = new SetHealth();
  const balancer = withHealth(createBalancer('roundrobin', nodes, {}), health, nodes);
  for (const n of nodes) health.set(n.host, false);
  const [a, b, c] = nodes as [UpstreamNode, UpstreamNode, UpstreamNode];
  assert.equal(balancer.pick(noVars, new Set([a, b]))?.host, 'c');
  assert.equal(balancer.pick(noVars, new Set([a, b, c])), undefined);
});

test('a lower priority group takes over while the higher group is unhealthy; chash skips too', () => {
  const tiered = makeNodes([{ name: 'p1', weight: 1, priority: 1 }, { name: 'p0', weight: 1 }]);
  const health = new SetHealth();
  const balancer = withHealth(createBalancer('roundrobin', tiered, {}), health, tiered);
  assert.equal(balancer.pick(noVars, undefined)?.host, 'p1');
  health.set('p1', false);
  assert.equal(balancer.pick(noVars, undefined)?.host, 'p0');

  const hashed = withHealth(createBalancer('chash', nodes, { hash_on: 'vars', key: 'remote_addr' }), health, nodes);
  const first = hashed.pick(noVars, undefined)!;
  health.set(first.host, false);
  const second = hashed.pick(noVars, undefined)!;
  assert.notEqual(second.host, first.host);
  assert.equal(hashed.pick(noVars, undefined), second, 'the same key keeps landing on the same healthy node');
});

test('load tracking of least_conn and ewma passes through', () => {
  const inner = createBalancer('least_conn', nodes, {});
  const balancer = withHealth(inner, new SetHealth(), nodes);
  assert.equal(balancer.onStart, inner.onStart);
  assert.equal(balancer.onEnd, inner.onEnd);
});
