/**
 * azure-functions (spec/serverless.md §4) on real request contexts against
 * a function that reports the auth headers it received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import { startHttpDouble, type HttpDouble } from '../../test/doubles/http-double.js';
import { closeFunctionConnections } from './faas/index.js';
import azureFunctions, { AZURE_FUNCTIONS_PRIORITY } from './azure-functions.js';

const harness = new PluginHarness(azureFunctions);

/** Plugin metadata as the gateway loads it: checked, defaults filled. */
function metadataAsLoaded(value: Record<string, unknown>): Record<string, unknown> {
  const loaded = { ...value };
  assert.equal(harness.registry.checkMetadata('azure-functions', loaded, true), undefined);
  return loaded;
}

interface Seen {
  readonly key: string | undefined;
  readonly clientid: string | undefined;
}

describe('azure-functions', () => {
  let fn: HttpDouble;
  before(async () => {
    fn = await startHttpDouble((r) => ({
      status: 200,
      body: JSON.stringify({ key: r.headers['x-functions-key'], clientid: r.headers['x-functions-clientid'] }),
    }));
  });
  after(async () => {
    await closeFunctionConnections();
    await fn.close();
  });

  async function seen(conf: Record<string, unknown>, options: { headers?: Record<string, string>; metadata?: Record<string, unknown> } = {}): Promise<Seen> {
    const metadata = options.metadata === undefined ? {} : { metadata: { 'azure-functions': metadataAsLoaded(options.metadata) } };
    const verdict = await harness.run('access', harness.conf({ function_uri: `${fn.origin}/api`, ...conf }), harness.request('/azure', { headers: options.headers ?? {}, ...metadata }));
    assert.ok(Array.isArray(verdict));
    return JSON.parse((verdict[1] as Buffer).toString()) as Seen;
  }

  test('definition: priority -1900, secrets of route and metadata, metadata defaults', () => {
    assert.equal(azureFunctions.priority, AZURE_FUNCTIONS_PRIORITY);
    assert.equal(AZURE_FUNCTIONS_PRIORITY, -1900);
    assert.deepEqual(azureFunctions.encryptFields, ['authorization.apikey']);
    assert.deepEqual(azureFunctions.metadataEncryptFields, ['master_apikey']);
    const metadata: Record<string, unknown> = {};
    assert.equal(harness.registry.checkMetadata('azure-functions', metadata, true), undefined);
    assert.deepEqual(metadata, { master_apikey: '', master_clientid: '' });
  });

  test('schema: the common attributes with APISIX defaults and minimums', () => {
    const conf = harness.conf({ function_uri: 'http://localhost:8765/api' });
    assert.deepEqual(conf, {
      function_uri: 'http://localhost:8765/api',
      timeout: 3000,
      ssl_verify: true,
      keepalive: true,
      keepalive_timeout: 60000,
      keepalive_pool: 5,
      max_req_body_size: 67108864,
    });
    assert.match(harness.check({}) ?? '', /property "function_uri" is required$/);
    assert.match(harness.check({ function_uri: 'x', timeout: 99 }) ?? '', /property "timeout" validation failed: expected 99 to be at least 100$/);
    assert.match(harness.check({ function_uri: 'x', keepalive_timeout: 999 }) ?? '', /expected 999 to be at least 1000$/);
    assert.match(harness.check({ function_uri: 'x', keepalive_pool: 0 }) ?? '', /property "keepalive_pool" validation failed: expected 0 to be at least 1$/);
    assert.match(harness.check({ function_uri: 'x', max_req_body_size: 0 }) ?? '', /property "max_req_body_size" validation failed/);
    assert.match(harness.check({ function_uri: 'x', authorization: { apikey: 1 } }) ?? '', /property "authorization" validation failed: property "apikey" validation failed/);
  });

  test('authorization → x-functions-key / x-functions-clientid, each only when configured', async () => {
    assert.deepEqual(await seen({ authorization: { apikey: 'test_key', clientid: 'cid' } }), { key: 'test_key', clientid: 'cid' });
    assert.deepEqual(await seen({ authorization: { apikey: 'test_key' } }), { key: 'test_key' });
  });

  test('a client key or client id wins: nothing is added', async () => {
    assert.deepEqual(await seen({ authorization: { apikey: 'test_key', clientid: 'cid' } }, { headers: { 'x-functions-key': 'must_not_be_overrided' } }), { key: 'must_not_be_overrided' });
    assert.deepEqual(await seen({ authorization: { apikey: 'test_key' } }, { headers: { 'x-functions-clientid': 'mine' } }), { clientid: 'mine' });
    assert.deepEqual(await seen({}, { headers: { 'x-functions-key': 'client' }, metadata: { master_apikey: 'metadata_key' } }), { key: 'client' });
  });

  test('no authorization: the metadata master key and client id (empty by default)', async () => {
    assert.deepEqual(await seen({}, { metadata: { master_apikey: 'metadata_key', master_clientid: 'mc' } }), { key: 'metadata_key', clientid: 'mc' });
    assert.deepEqual(await seen({}, { metadata: {} }), { key: '', clientid: '' });
    assert.deepEqual(await seen({}), {});
  });

  test('route authorization beats metadata', async () => {
    assert.deepEqual(await seen({ authorization: { clientid: 'route' } }, { metadata: { master_apikey: 'metadata_key' } }), { clientid: 'route' });
  });
});
