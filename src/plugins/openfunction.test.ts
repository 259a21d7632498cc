/**
 * openfunction (spec/serverless.md §5) on real request contexts against the
 * CI functions of the OpenFunction double.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import { startOpenFunctionDouble } from '../../test/doubles/openfunction.js';
import type { HttpDouble } from '../../test/doubles/http-double.js';
import { closeFunctionConnections } from './faas/index.js';
import openfunction, { OPENFUNCTION_PRIORITY } from './openfunction.js';

const harness = new PluginHarness(openfunction);

async function bodyOf(conf: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
  const verdict = await harness.run('access', harness.conf(conf), harness.request('/hello', { headers }));
  assert.ok(Array.isArray(verdict), `expected a relayed answer, got ${String(verdict)}`);
  return (verdict[1] as Buffer).toString();
}

describe('openfunction', () => {
  let headerFn: HttpDouble;
  before(async () => {
    headerFn = await startOpenFunctionDouble('test-header');
  });
  after(async () => {
    await closeFunctionConnections();
    await headerFn.close();
  });

  test('definition: priority -1902, access phase only, the service token is a secret', () => {
    assert.equal(openfunction.priority, OPENFUNCTION_PRIORITY);
    assert.equal(OPENFUNCTION_PRIORITY, -1902);
    assert.equal(typeof openfunction.access, 'function');
    assert.equal(openfunction.rewrite, undefined);
    assert.deepEqual(openfunction.encryptFields, ['authorization.service_token']);
  });

  test('schema: function_uri required and a string; authorization an object with a string service_token', () => {
    assert.equal(harness.check({ function_uri: 'http://127.0.0.1:30584/function-sample' }), undefined);
    assert.match(harness.check({}) ?? '', /property "function_uri" is required$/);
    assert.match(harness.check({ function_uri: 30584 }) ?? '', /property "function_uri" validation failed: wrong type: expected string, got number$/);
    // fngate is stricter than APISIX here (docs/plugins/openfunction.md).
    assert.match(harness.check({ function_uri: 'x', authorization: 'test:test' }) ?? '', /property "authorization" validation failed: wrong type: expected object, got string$/);
    assert.match(harness.check({ function_uri: 'x', authorization: { service_token: 1 } }) ?? '', /property "service_token" validation failed/);
    assert.equal(harness.check({ function_uri: 'x', authorization: {} }), undefined);
  });

  test('service_token → Authorization: Basic base64(token), replacing the client\'s', async () => {
    const conf = { function_uri: `${headerFn.origin}/`, authorization: { service_token: 'test:test' } };
    assert.equal(await bodyOf(conf), '[Basic dGVzdDp0ZXN0]');
    assert.equal(await bodyOf(conf, { authorization: 'user-token-xxx' }), '[Basic dGVzdDp0ZXN0]');
  });

  test('without a token the client\'s Authorization passes through unchanged (or none is sent)', async () => {
    assert.equal(await bodyOf({ function_uri: headerFn.origin }, { authorization: 'user-token-xxx' }), '[user-token-xxx]');
    assert.equal(await bodyOf({ function_uri: headerFn.origin, authorization: {} }), '[]');
  });
});
