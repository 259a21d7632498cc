import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TargetHealth } from './target-health.js';

test('a target starts healthy and turns unhealthy after `limit` failures of one kind in a row', () => {
  const health = new TargetHealth();
  assert.equal(health.state, 'healthy');
  assert.equal(health.record('http_failure', 3), false);
  assert.equal(health.state, 'mostly_healthy');
  assert.equal(health.healthy, true);
  assert.equal(health.record('http_failure', 3), false);
  assert.equal(health.record('http_failure', 3), true);
  assert.equal(health.state, 'unhealthy');
  assert.equal(health.healthy, false);
});

test('a success clears the failure counters; a failure clears the success counter', () => {
  const health = new TargetHealth();
  health.record('tcp_failure', 2);
  health.record('success', 2); // clears the tcp failure counted so far
  assert.equal(health.record('tcp_failure', 2), false, 'one failure after the reset is not two');
  assert.equal(health.record('tcp_failure', 2), true);

  health.record('success', 3);
  health.record('success', 3);
  assert.equal(health.state, 'mostly_unhealthy');
  health.record('timeout', 3); // clears the successes
  health.record('success', 3);
  health.record('success', 3);
  assert.equal(health.healthy, false, 'the successes restarted from 0');
  assert.equal(health.record('success', 3), true);
  assert.equal(health.state, 'healthy');
});

test('failures of different kinds count separately and do not clear each other', () => {
  const health = new TargetHealth();
  health.record('http_failure', 2);
  health.record('timeout', 2);
  assert.equal(health.healthy, true);
  assert.equal(health.record('http_failure', 2), true);
});

test('a limit of 0 disables the counter; nothing counts in the direction the target already fully is', () => {
  const health = new TargetHealth();
  assert.equal(health.record('tcp_failure', 0), false);
  assert.equal(health.state, 'healthy');
  health.record('success', 1);
  assert.equal(health.state, 'healthy');
  health.record('timeout', 1);
  assert.equal(health.state, 'unhealthy');
  health.record('timeout', 1);
  assert.equal(health.state, 'unhealthy');
  assert.equal(health.record('success', 1), true);
});
