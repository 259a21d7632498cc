import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_V8_FLAGS, v8FlagName, workerV8Flags } from './worker-flags.js';

test('v8FlagName strips dashes, the no- prefix and the value', () => {
  assert.equal(v8FlagName('--max-semi-space-size=32'), 'max-semi-space-size');
  assert.equal(v8FlagName('--no-allocation-site-pretenuring'), 'allocation-site-pretenuring');
  assert.equal(v8FlagName('--allocation_site_pretenuring'), 'allocation-site-pretenuring');
});

test('workers get every tuning flag the user did not set', () => {
  assert.deepEqual(workerV8Flags([]), [...WORKER_V8_FLAGS]);
  assert.ok(WORKER_V8_FLAGS.includes('--no-allocation-site-pretenuring'));
});

test('a flag the user set wins, in either polarity', () => {
  assert.deepEqual(workerV8Flags(['--allocation-site-pretenuring']), ['--max-semi-space-size=32']);
  assert.deepEqual(workerV8Flags(['--max-semi-space-size=64', '--no-allocation-site-pretenuring']), []);
  // Values and unrelated arguments do not count as flags.
  assert.deepEqual(workerV8Flags(['max-semi-space-size', '--inspect']), [...WORKER_V8_FLAGS]);
});
