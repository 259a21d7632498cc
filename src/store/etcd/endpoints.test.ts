import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointRing } from './endpoints.js';

describe('EndpointRing', () => {
  test('tries the endpoints in configured order while all are healthy', () => {
    const ring = new EndpointRing(['a', 'b', 'c'], 10_000);
    assert.deepEqual(ring.order(1_000), ['a', 'b', 'c']);
  });

  test('passes over a failed endpoint for the health-check time, then tries it again', () => {
    const ring = new EndpointRing(['a', 'b', 'c'], 10_000);
    assert.equal(ring.markDown('a', 1_000), true);
    assert.equal(ring.markDown('a', 1_001), false, 'already down');
    assert.deepEqual(ring.order(2_000), ['b', 'c', 'a']);
    assert.deepEqual(ring.order(11_001), ['a', 'b', 'c']);
  });

  test('when all are down, still offers every endpoint, soonest to recover first', () => {
    const ring = new EndpointRing(['a', 'b'], 10_000);
    ring.markDown('b', 1_000);
    ring.markDown('a', 2_000);
    assert.deepEqual(ring.order(3_000), ['b', 'a']);
  });

  test('prefers the endpoint that answered last', () => {
    const ring = new EndpointRing(['a', 'b', 'c'], 10_000);
    ring.markDown('a', 1_000);
    ring.markUp('b');
    assert.deepEqual(ring.order(2_000), ['b', 'c', 'a']);
    ring.markUp('a');
    assert.deepEqual(ring.order(2_000), ['a', 'b', 'c']);
  });

  test('needs at least one endpoint', () => {
    assert.throws(() => new EndpointRing([], 1_000), RangeError);
  });
});
