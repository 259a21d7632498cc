import { test } from 'node:test';
import assert from 'node:assert/strict';
import { andThen, isThenable } from './maybe-async.js';

test('isThenable recognises promises and thenables, nothing else', () => {
  assert.equal(isThenable(Promise.resolve(1)), true);
  assert.equal(isThenable({ then: () => undefined }), true);
  const callable = Object.assign(() => undefined, { then: () => undefined });
  assert.equal(isThenable(callable), true);
  for (const value of [undefined, null, 0, 'then', { then: 1 }, [1]]) assert.equal(isThenable(value), false);
});

test('andThen runs the next step at once for a ready value', () => {
  const order: string[] = [];
  const result = andThen(2, (n) => {
    order.push('next');
    return n * 3;
  });
  order.push('after');
  assert.equal(result, 6);
  assert.deepEqual(order, ['next', 'after']);
});

test('andThen waits for a promise, and passes its rejection on', async () => {
  const result = andThen(Promise.resolve(2), (n) => n + 1);
  assert.equal(isThenable(result), true);
  assert.equal(await result, 3);
  await assert.rejects(Promise.resolve(andThen(Promise.reject(new Error('boom')), () => 1)), /boom/);
});
