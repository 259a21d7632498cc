import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  functionMetricsSeries,
  outcomeOfError,
  recordFunctionCall,
  startFunctionMetrics,
  stopFunctionMetrics,
  timeFunctionCall,
} from './function-metrics.js';

/** Observation count per `plugin|route|outcome` (buckets + Inf, then sum: the count is the bucket total). */
function counts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { labels, values } of functionMetricsSeries() ?? []) {
    out[labels.join('|')] = values.slice(0, -1).reduce((a, b) => a + b, 0);
  }
  return out;
}

// One test: the module's state is per process, and these steps build on each other.
test('function calls are counted by plugin, route and outcome only while recording', async () => {
  recordFunctionCall('openwhisk', '1', 0.01, 'ok');
  assert.equal(functionMetricsSeries(), undefined, 'nothing is kept before the plugin starts recording');
  assert.equal(timeFunctionCall('openwhisk', '1', () => 42), 42, 'the call still runs');

  startFunctionMetrics([0.001, 0.1, 1]);
  recordFunctionCall('openwhisk', '1', 0.05, 'ok');
  assert.deepEqual(functionMetricsSeries(), [{ labels: ['openwhisk', '1', 'ok'], values: [0, 1, 0, 0, 0.05] }]);

  // Synchronous: returns, throws.
  assert.equal(timeFunctionCall('serverless-pre-function', '1', () => 'verdict'), 'verdict');
  assert.throws(() => timeFunctionCall('serverless-pre-function', '1', () => { throw new Error('boom'); }), /boom/);
  // Asynchronous: resolves, rejects, times out; a missing route is ''.
  assert.equal(await timeFunctionCall('aws-lambda', '2', () => Promise.resolve(7)), 7);
  await assert.rejects(timeFunctionCall('aws-lambda', '2', () => Promise.reject(new Error('connection refused'))), /connection refused/);
  await assert.rejects(timeFunctionCall('aws-lambda', undefined, () => Promise.reject(Object.assign(new Error('timeout'), { reason: 'timeout' }))));

  assert.deepEqual(counts(), {
    'openwhisk|1|ok': 1,
    'serverless-pre-function|1|ok': 1,
    'serverless-pre-function|1|error': 1,
    'aws-lambda|2|ok': 1,
    'aws-lambda|2|error': 1,
    'aws-lambda||timeout': 1,
  });

  stopFunctionMetrics();
  recordFunctionCall('openwhisk', '1', 0.05, 'ok');
  assert.equal(counts()['openwhisk|1|ok'], 1, 'stopped: not counted, earlier counts kept');
  startFunctionMetrics([0.001, 0.1, 1]);
  assert.equal(counts()['openwhisk|1|ok'], 1, 'restarted with the same buckets: counts kept');
  startFunctionMetrics([0.5]);
  assert.deepEqual(counts(), {}, 'other buckets: counts start afresh');
});

test('timeouts are recognised through wrapping errors, codes and messages', () => {
  assert.equal(outcomeOfError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), 'timeout');
  assert.equal(outcomeOfError(new Error('functions[0] threw', { cause: new Error('Script execution timed out.') })), 'timeout');
  assert.equal(outcomeOfError(Object.assign(new Error('failed'), { reason: 'connection refused' })), 'error');
  assert.equal(outcomeOfError('boom'), 'error');
});
