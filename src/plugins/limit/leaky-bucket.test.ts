/**
 * The in-process leaky bucket on a fake clock: nginx limit_req's
 * arithmetic (rate, burst, delays, rejections that leave no trace, drain)
 * and the sweep that keeps memory bounded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalLeakyBuckets, REJECTED } from './leaky-bucket.js';

function fakeClock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

describe('LocalLeakyBuckets', () => {
  test('rate 1, burst 0: one request, then refusals until a second has passed', () => {
    const clock = fakeClock();
    const buckets = new LocalLeakyBuckets({ now: clock.now, sweepIntervalMs: 0 });
    assert.equal(buckets.incoming('k', 1, 0), 0);
    assert.equal(buckets.incoming('k', 1, 0), REJECTED);
    clock.advance(999);
    assert.equal(buckets.incoming('k', 1, 0), REJECTED, 'the refusals did not fill the bucket further, but it has not drained yet');
    clock.advance(1);
    assert.equal(buckets.incoming('k', 1, 0), 0);
  });

  test('burst: excess requests are told to wait excess / rate seconds, beyond the burst they are refused', () => {
    const clock = fakeClock();
    const buckets = new LocalLeakyBuckets({ now: clock.now, sweepIntervalMs: 0 });
    assert.equal(buckets.incoming('k', 2, 2), 0);
    assert.equal(buckets.incoming('k', 2, 2), 0.5);
    assert.equal(buckets.incoming('k', 2, 2), 1);
    assert.equal(buckets.incoming('k', 2, 2), REJECTED);
    clock.advance(500); // one request drained
    assert.equal(buckets.incoming('k', 2, 2), 1);
    assert.equal(buckets.incoming('k', 2, 2), REJECTED);
  });

  test('fractional rates and keys apart', () => {
    const clock = fakeClock();
    const buckets = new LocalLeakyBuckets({ now: clock.now, sweepIntervalMs: 0 });
    assert.equal(buckets.incoming('a', 0.5, 1), 0);
    assert.equal(buckets.incoming('a', 0.5, 1), 2, 'one excess request at half a request per second waits 2 s');
    assert.equal(buckets.incoming('b', 0.5, 1), 0, 'another key has its own bucket');
    clock.advance(4_000);
    assert.equal(buckets.incoming('a', 0.5, 1), 0, 'drained after (excess + 1) / rate seconds');
  });

  test('a sweep drops drained buckets only', async () => {
    const clock = fakeClock();
    const buckets = new LocalLeakyBuckets({ now: clock.now, sweepIntervalMs: 0 });
    // 1,024 keys reach the growth threshold; the next new key starts a sweep.
    for (let i = 0; i < 1_024; i++) buckets.incoming(`old-${i}`, 10, 0);
    clock.advance(100); // drained: (0 + 1) / 10 s
    buckets.incoming('fresh', 10, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(buckets.size, 1);
    assert.equal(buckets.incoming('fresh', 10, 0), REJECTED, 'the live bucket kept its state');
    buckets.close();
  });
});
