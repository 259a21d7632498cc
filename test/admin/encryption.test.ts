/**
 * Secret plugin fields through the real Admin API (spec/admin-api.md §4.2,
 * §7): stored and echoed by writes as ciphertext, shown decrypted by GET,
 * never encrypted twice by PATCH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEncryptionTransform, identityTransform } from '../../src/admin/transform.js';
import { parseConfig } from '../../src/config/load.js';
import type { PluginCatalog, PluginTarget } from '../../src/plugin/catalog.js';
import { createFieldCipher } from '../../src/plugin/encryption.js';
import { routeBody, startAdmin, testConfig, type AdminUnderTest } from './helpers.js';

/** `the-password` under the default keyring's first key (spec §7). */
const THE_PASSWORD = 'WvF5kpaLvIzjuk4GNIMTJg==';
const cipher = createFieldCipher(['qeddd145sfvddff3', 'edd1c9f0985e76a2']);

/**
 * Three plugins with secrets: `key-auth` (auth; its key is secret on
 * consumers and credentials only), `secret-fn` (a FaaS-like plugin with a
 * token and a list of keys) and `secret-meta` (a secret in its metadata).
 */
const ENCRYPT_FIELDS: Record<string, Partial<Record<PluginTarget | 'metadata', readonly string[]>>> = {
  'key-auth': { consumer: ['key'], credential: ['key'] },
  'secret-fn': { route: ['service_token', 'auth.keys'], service: ['service_token', 'auth.keys'], consumer: ['service_token'] },
  'secret-meta': { metadata: ['master_apikey'] },
};

const catalog: PluginCatalog = {
  has: (name) => name in ENCRYPT_FIELDS,
  checkPlugins(plugins) {
    for (const name of Object.keys(plugins)) if (!(name in ENCRYPT_FIELDS)) return `unknown plugin [${name}]`;
    return undefined;
  },
  isAuth: (name) => name === 'key-auth',
  exists: (name) => name in ENCRYPT_FIELDS,
  checkMetadata: () => undefined,
  encryptFields: (name, target) => ENCRYPT_FIELDS[name]?.[target] ?? [],
};

describe('encrypted plugin fields in the Admin API', () => {
  let admin: AdminUnderTest;
  before(async () => {
    admin = await startAdmin({ deps: { plugins: catalog, transform: createEncryptionTransform(testConfig(), catalog) } });
  });
  after(() => admin.close());

  async function storedJson(key: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary shapes
    const kv = await admin.store.get(key);
    assert.ok(kv, `${key} is stored`);
    return JSON.parse(kv.value);
  }

  test('a route: ciphertext in the store and the PUT response, plaintext from GET', async () => {
    const plugins = { 'secret-fn': { service_token: 'the-password', host: 'h', auth: [{ keys: ['k1', 'k2'] }, { keys: ['k3'] }] } };
    const put = await admin.call('PUT', '/apisix/admin/routes/r1', { body: { ...routeBody(), plugins } });
    assert.equal(put.status, 201, put.text);

    const stored = await storedJson('/apisix/routes/r1');
    const conf = stored.plugins['secret-fn'];
    assert.equal(conf.service_token, THE_PASSWORD);
    assert.equal(conf.host, 'h', 'fields that are not secret are stored as sent');
    assert.deepEqual(conf.auth.map((a: { keys: string[] }) => a.keys.map((k) => cipher.decrypt(k))), [['k1', 'k2'], ['k3']]);
    assert.notEqual(conf.auth[0].keys[0], 'k1');
    assert.deepEqual(put.json.value, stored, 'the write response shows what was stored (§4.2)');

    const get = await admin.call('GET', '/apisix/admin/routes/r1');
    assert.equal(get.status, 200);
    assert.deepEqual(get.json.value.plugins, plugins);

    const list = await admin.call('GET', '/apisix/admin/routes');
    const listed = list.json.list.find((item: { key: string }) => item.key === '/apisix/routes/r1');
    assert.deepEqual(listed.value.plugins, plugins, 'collections are decrypted too');
  });

  test('POST stores ciphertext too', async () => {
    const post = await admin.call('POST', '/apisix/admin/services', { body: { plugins: { 'secret-fn': { service_token: 'the-password' } } } });
    assert.equal(post.status, 201, post.text);
    assert.equal(post.json.value.plugins['secret-fn'].service_token, THE_PASSWORD);
    assert.equal((await storedJson(post.json.key)).plugins['secret-fn'].service_token, THE_PASSWORD);
  });

  test('PATCH merges into the decrypted value: no double encryption', async () => {
    await admin.call('PUT', '/apisix/admin/routes/r2', { body: { ...routeBody(), plugins: { 'secret-fn': { service_token: 'the-password' } } } });

    const whole = await admin.call('PATCH', '/apisix/admin/routes/r2', { body: { desc: 'patched' } });
    assert.equal(whole.status, 200, whole.text);
    assert.equal(whole.json.value.plugins['secret-fn'].service_token, THE_PASSWORD);
    assert.equal((await storedJson('/apisix/routes/r2')).plugins['secret-fn'].service_token, THE_PASSWORD);

    const sub = await admin.call('PATCH', '/apisix/admin/routes/r2/plugins', { body: { 'secret-fn': { service_token: 'bar', auth: { keys: 'k' } } } });
    assert.equal(sub.status, 200, sub.text);
    const stored = await storedJson('/apisix/routes/r2');
    assert.equal(cipher.decrypt(stored.plugins['secret-fn'].service_token), 'bar');
    assert.equal(cipher.decrypt(stored.plugins['secret-fn'].auth.keys), 'k');

    const get = await admin.call('GET', '/apisix/admin/routes/r2');
    assert.deepEqual(get.json.value.plugins, { 'secret-fn': { service_token: 'bar', auth: { keys: 'k' } } });
    assert.equal(get.json.value.desc, 'patched');
  });

  test('consumers and credentials use the consumer-side paths', async () => {
    const consumer = await admin.call('PUT', '/apisix/admin/consumers', {
      body: { username: 'jack', plugins: { 'key-auth': { key: 'the-password' }, 'secret-fn': { service_token: 'bar' } } },
    });
    assert.equal(consumer.status, 201, consumer.text);
    assert.deepEqual(consumer.json.value.plugins, { 'key-auth': { key: THE_PASSWORD }, 'secret-fn': { service_token: cipher.encrypt('bar') } });

    const credential = await admin.call('PUT', '/apisix/admin/consumers/jack/credentials/c1', { body: { plugins: { 'key-auth': { key: 'cred-key' } } } });
    assert.equal(credential.status, 201, credential.text);
    const stored = await storedJson('/apisix/consumers/jack/credentials/c1');
    assert.equal(cipher.decrypt(stored.plugins['key-auth'].key), 'cred-key');
    assert.notEqual(stored.plugins['key-auth'].key, 'cred-key');
    assert.deepEqual(credential.json.value, stored);

    const got = await admin.call('GET', '/apisix/admin/consumers/jack/credentials/c1');
    assert.deepEqual(got.json.value.plugins, { 'key-auth': { key: 'cred-key' } });
    const gotConsumer = await admin.call('GET', '/apisix/admin/consumers/jack');
    assert.deepEqual(gotConsumer.json.value.plugins, { 'key-auth': { key: 'the-password' }, 'secret-fn': { service_token: 'bar' } });

    // The duplicate-key check compares plaintexts, although the store holds ciphertexts.
    const duplicate = await admin.call('PUT', '/apisix/admin/consumers', { body: { username: 'tom', plugins: { 'key-auth': { key: 'cred-key' } } } });
    assert.deepEqual([duplicate.status, duplicate.json], [400, { error_msg: 'duplicate key of plugin key-auth found with credential: c1 of consumer: jack' }]);
  });

  test('plugin_metadata: the metadata object itself', async () => {
    const put = await admin.call('PUT', '/apisix/admin/plugin_metadata/secret-meta', { body: { master_apikey: 'the-password', region: 'eu' } });
    assert.deepEqual([put.status, put.json], [201, { key: '/apisix/plugin_metadata/secret-meta', value: { id: 'secret-meta', master_apikey: THE_PASSWORD, region: 'eu' } }]);
    assert.deepEqual(await storedJson('/apisix/plugin_metadata/secret-meta'), put.json.value);
    const get = await admin.call('GET', '/apisix/admin/plugin_metadata/secret-meta');
    assert.deepEqual(get.json.value, { id: 'secret-meta', master_apikey: 'the-password', region: 'eu' });
  });

  test('a value stored before encryption was on is shown as stored, and encrypted on the next write', async () => {
    const legacy = { id: 'old', ...routeBody(), plugins: { 'secret-fn': { service_token: 'plain-token' } } };
    await admin.store.put('/apisix/routes/old', JSON.stringify(legacy));
    const get = await admin.call('GET', '/apisix/admin/routes/old');
    assert.equal(get.json.value.plugins['secret-fn'].service_token, 'plain-token');

    const patch = await admin.call('PATCH', '/apisix/admin/routes/old', { body: { desc: 'rewritten' } });
    assert.equal(patch.status, 200, patch.text);
    assert.equal(cipher.decrypt((await storedJson('/apisix/routes/old')).plugins['secret-fn'].service_token), 'plain-token');
  });
});

describe('createEncryptionTransform', () => {
  const config = (yaml: string) => parseConfig(yaml, { env: {} }).config;

  test('stores values as sent when encryption is off or the provider is the standalone file', async () => {
    for (const yaml of ['apisix:\n  data_encryption:\n    enable_encrypt_fields: false\n', 'deployment:\n  role_traditional:\n    config_provider: yaml\n']) {
      assert.equal(createEncryptionTransform(config(yaml), catalog), identityTransform, yaml);
    }

    const admin = await startAdmin({ deps: { plugins: catalog, transform: createEncryptionTransform(config('apisix:\n  data_encryption:\n    enable_encrypt_fields: false\n'), catalog) } });
    try {
      const put = await admin.call('PUT', '/apisix/admin/plugin_metadata/secret-meta', { body: { master_apikey: 'the-password' } });
      assert.equal(put.json.value.master_apikey, 'the-password');
      assert.equal(JSON.parse((await admin.store.get('/apisix/plugin_metadata/secret-meta'))?.value ?? '{}').master_apikey, 'the-password');
    } finally {
      await admin.close();
    }
  });
});
