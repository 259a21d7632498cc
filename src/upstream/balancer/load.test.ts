import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from './index.js';
import { EWMA_DECAY_MS, NodeLoad } from './load.js';
import { makeNodes, noVars, sequence } from '../../../test/upstream/balancer-fixtures.js';

describe('least_conn', () => {
  test('picks the lowest (active + 1) / weight; idle nodes rotate', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 2 }]);
    const b = createBalancer('least_conn', nodes, {});
    // Idle: c has the best score (1/2); rotation does not override a better score.
    assert.equal(b.pick(noVars, undefined)?.host, 'c');
    b.onStart!(nodes[2]!); // c: 2/2 = 1, a and b: 1 → tie, rotation decides
    const tied = sequence(() => b.pick(noVars, undefined), 3);
    assert.deepEqual(new Set(tied), new Set(['a', 'b', 'c']));
    b.onStart!(nodes[0]!);
    b.onStart!(nodes[1]!);
    b.onStart!(nodes[2]!); // a 2, b 2, c 3/2
    assert.equal(b.pick(noVars, undefined)?.host, 'c');
    b.onEnd!(nodes[0]!, 5, false);
    b.onEnd!(nodes[0]!, 5, false); // a back to idle: 1
    assert.equal(b.pick(noVars, undefined)?.host, 'a');
  });

  test('skips tried nodes', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
    const b = createBalancer('least_conn', nodes, {});
    assert.equal(b.pick(noVars, new Set([nodes[0]!]))?.host, 'b');
    assert.equal(b.pick(noVars, new Set(nodes)), undefined);
  });

  test('a single node is not picked again once tried (unlike the other types)', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }]);
    assert.equal(createBalancer('least_conn', nodes, {}).pick(noVars, new Set(nodes)), undefined);
    assert.equal(createBalancer('roundrobin', nodes, {}).pick(noVars, new Set(nodes))?.host, 'a');
  });
});

describe('ewma', () => {
  test('prefers untried nodes, then the lowest latency', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
    const b = createBalancer('ewma', nodes, {});
    b.onStart!(nodes[0]!);
    b.onEnd!(nodes[0]!, 80, false);
    assert.equal(b.pick(noVars, undefined)?.host, 'b', 'b has no samples yet');
    b.onStart!(nodes[1]!);
    b.onEnd!(nodes[1]!, 10, false);
    assert.deepEqual(sequence(() => b.pick(noVars, undefined), 4), ['b', 'b', 'b', 'b']);
  });

  test('in-flight attempts raise the score', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
    const b = createBalancer('ewma', nodes, {});
    b.onStart!(nodes[0]!); b.onEnd!(nodes[0]!, 20, false);
    b.onStart!(nodes[1]!); b.onEnd!(nodes[1]!, 10, false);
    for (let i = 0; i < 3; i++) b.onStart!(nodes[1]!); // b: 11 × 4 = 44 > a: 21 × 1
    assert.equal(b.pick(noVars, undefined)?.host, 'a');
  });

  test('failures count as at least 1 s; the average decays toward zero over time', () => {
    const nodes = makeNodes([{ name: 'a', weight: 1 }]);
    const load = new NodeLoad(1, true);
    load.start(nodes[0]!);
    load.end(nodes[0]!, 3, true);
    const now = performance.now();
    assert.ok(Math.abs(load.latency(nodes[0]!, now) - 1000) < 5);
    const later = load.latency(nodes[0]!, now + EWMA_DECAY_MS);
    assert.ok(Math.abs(later - 1000 / Math.E) < 5, `decayed to ${later}`);
  });
});

describe('priority groups', () => {
  test('the highest group serves; a lower one only after the higher group was tried', () => {
    const nodes = makeNodes([
      { name: 'low', weight: 1, priority: -1 },
      { name: 'a', weight: 1, priority: 2 },
      { name: 'b', weight: 1, priority: 2 },
      { name: 'mid', weight: 1, priority: 0 },
    ]);
    const b = createBalancer('roundrobin', nodes, {});
    assert.deepEqual(sequence(() => b.pick(noVars, undefined), 4), ['a', 'b', 'a', 'b']);
    assert.equal(b.pick(noVars, new Set([nodes[1]!]))?.host, 'b');
    assert.equal(b.pick(noVars, new Set([nodes[1]!, nodes[2]!]))?.host, 'mid');
    assert.equal(b.pick(noVars, new Set([nodes[1]!, nodes[2]!, nodes[3]!]))?.host, 'low');
    assert.equal(b.pick(noVars, new Set(nodes)), undefined);
  });

  test('a group whose nodes all weigh 0 is skipped', () => {
    const nodes = makeNodes([{ name: 'off', weight: 0, priority: 5 }, { name: 'on', weight: 1, priority: 0 }]);
    assert.equal(createBalancer('chash', nodes, { hash_on: 'vars', key: 'uri' }).pick(noVars, undefined)?.host, 'on');
  });
});
