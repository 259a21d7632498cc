/**
 * serverless-post-function next to its twin: APISIX's names and priorities
 * (spec/plugins.md §13), the same schema, and a compiled cache of its own
 * (spec/serverless.md §2: the same configuration object under both plugins
 * gives two sets of closures).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import serverlessPostFunction from './serverless-post-function.js';
import serverlessPreFunction from './serverless-pre-function.js';

describe('serverless-post-function', () => {
  test('names and priorities: pre 10000, post -2000; one schema', () => {
    assert.deepEqual([serverlessPreFunction.name, serverlessPreFunction.priority], ['serverless-pre-function', 10000]);
    assert.deepEqual([serverlessPostFunction.name, serverlessPostFunction.priority], ['serverless-post-function', -2000]);
    assert.equal(serverlessPostFunction.schema, serverlessPreFunction.schema);
  });

  test('validation messages carry the plugin name', () => {
    const post = new PluginHarness(serverlessPostFunction);
    assert.equal(post.check({ phase: 'log', functions: ['return () => {}'] }), undefined);
    assert.equal(post.check({ functions: ['return 1'] }), 'failed to check the configuration of plugin serverless-post-function err: only accept JavaScript function, the input code type is number');
  });

  test('each plugin compiles its own closures, even for the same configuration object', async () => {
    const pre = new PluginHarness(serverlessPreFunction);
    const post = new PluginHarness(serverlessPostFunction);
    const conf = pre.conf({ functions: ['let count = 0; return () => [200, String(++count)]'] });
    const ctx = pre.request('/');
    assert.equal(((await pre.run('access', conf, ctx)) as unknown[])[1], '1');
    assert.equal(((await pre.run('access', conf, ctx)) as unknown[])[1], '2');
    assert.equal(((await post.run('access', conf, ctx)) as unknown[])[1], '1');
    assert.equal(((await pre.run('access', conf, ctx)) as unknown[])[1], '3');
  });
});
