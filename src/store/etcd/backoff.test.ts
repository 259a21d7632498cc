import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, MAX_RETRY_DELAY_MS, MIN_RETRY_DELAY_MS } from './backoff.js';

describe('Backoff', () => {
  test('starts at the base, doubles, and stops at the cap', () => {
    const backoff = new Backoff(5_000, () => 0);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.next()), [5_000, 10_000, 20_000, MAX_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS]);
    assert.equal(backoff.failures, 5);
  });

  test('adds up to 50 % jitter, as APISIX does after a sync error', () => {
    assert.equal(new Backoff(1_000, () => 0.999_999).next(), 1_500);
    assert.equal(new Backoff(1_000, () => 0.5).next(), 1_250);
  });

  test('a base above the cap is kept, and reset starts over', () => {
    const backoff = new Backoff(60_000, () => 0);
    assert.equal(backoff.next(), 60_000);
    assert.equal(backoff.next(), 60_000);
    backoff.reset();
    assert.equal(backoff.failures, 0);
    assert.equal(new Backoff(100, () => 0).next(), 100);
  });

  test('a zero base still waits a little, so a down etcd is not retried in a tight loop', () => {
    assert.equal(new Backoff(0, () => 0).next(), MIN_RETRY_DELAY_MS);
  });
});
