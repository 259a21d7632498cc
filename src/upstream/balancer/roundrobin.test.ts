import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinBalancer } from './roundrobin.js';
import { createBalancer } from './index.js';
import { makeNodes, noVars, sequence } from '../../../test/upstream/balancer-fixtures.js';

describe('smooth weighted round robin', () => {
  test('weights 5,1,1 give a a b a c a a, then repeat', () => {
    const rr = new RoundRobinBalancer(makeNodes([{ name: 'a', weight: 5 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]));
    assert.deepEqual(sequence(() => rr.pick(noVars, undefined), 14), ['a', 'a', 'b', 'a', 'c', 'a', 'a', 'a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  test('equal weights rotate in configuration order', () => {
    const rr = new RoundRobinBalancer(makeNodes([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]));
    assert.deepEqual(sequence(() => rr.pick(noVars, undefined), 6), ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  test('picks follow the weights exactly over a full cycle', () => {
    const rr = new RoundRobinBalancer(makeNodes([{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }]));
    const picks = sequence(() => rr.pick(noVars, undefined), 400);
    assert.equal(picks.filter((p) => p === 'a').length, 300);
    assert.equal(picks.filter((p) => p === 'b').length, 100);
  });

  test('tried nodes are skipped; nothing left → undefined', () => {
    const nodes = makeNodes([{ name: 'a', weight: 5 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]);
    const rr = new RoundRobinBalancer(nodes);
    assert.equal(rr.pick(noVars, new Set([nodes[0]!]))?.host, 'b');
    assert.equal(rr.pick(noVars, new Set([nodes[0]!, nodes[1]!]))?.host, 'c');
    assert.equal(rr.pick(noVars, new Set(nodes)), undefined);
  });

  test('weight 0 is never chosen', () => {
    const b = createBalancer('roundrobin', makeNodes([{ name: 'a', weight: 0 }, { name: 'b', weight: 1 }, { name: 'c', weight: 0 }]), {});
    assert.deepEqual(new Set(sequence(() => b.pick(noVars, undefined), 20)), new Set(['b']));
  });
});
