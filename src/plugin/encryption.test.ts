import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { parseConfig } from '../config/load.js';
import type { JsonObject } from '../resources/types.js';
import { noPlugins, type PluginCatalog, type PluginTarget } from './catalog.js';
import {
  InvalidKeyringError,
  cipherFromConfig,
  createFieldCipher,
  decryptForLoad,
  decryptResource,
  encryptResource,
  transformFields,
  transformFieldsInPlace,
} from './encryption.js';

const KEY_A = 'qeddd145sfvddff3';
const KEY_B = 'edd1c9f0985e76a2';
const KEY_256 = '0123456789abcdef0123456789ABCDEF';
const DEFAULT_KEYRING = [KEY_A, KEY_B];

describe('createFieldCipher', () => {
  test('matches APISIX test vectors (spec/admin-api.md §7, spec/serverless.md §7.4)', () => {
    assert.equal(createFieldCipher(DEFAULT_KEYRING).encrypt('the-password'), 'WvF5kpaLvIzjuk4GNIMTJg==');
    assert.equal(createFieldCipher([KEY_B]).encrypt('bar'), '77+NmbYqNfN+oLm0aX5akg==');
    const guestToken = '23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP';
    const openwhisk = 'pe14btxogtzJ4qPM/W2qj0AQeUK/O5oegLkKJLkkSEsKUIjP+bgyO+qsTXuLrY/h/esLKrRulD2TOtf+Zt/Us+hxZ/svsMwXZqZ9T9/2wWyi8SKALLfTUZDiV69mxCwD2zNBze1jslMlPtdA9JFIOQ==';
    assert.equal(createFieldCipher(DEFAULT_KEYRING).encrypt(guestToken), openwhisk);

    const cipher = createFieldCipher(DEFAULT_KEYRING);
    assert.equal(cipher.decrypt('WvF5kpaLvIzjuk4GNIMTJg=='), 'the-password');
    assert.equal(cipher.decrypt('77+NmbYqNfN+oLm0aX5akg=='), 'bar', 'the second key decrypts too');
    assert.equal(cipher.decrypt(openwhisk), guestToken);
  });

  test('round trip with a 16-byte and a 32-byte key', () => {
    for (const key of [KEY_A, KEY_256]) {
      const cipher = createFieldCipher([key]);
      for (const text of ['', 's', 'exactly16bytes!!', 'pässwörd ✓ \u{1F511}', '\uFEFFbom first', 'x'.repeat(1000)]) {
        const encrypted = cipher.encrypt(text);
        assert.notEqual(encrypted, text);
        assert.equal(cipher.decrypt(encrypted), text, `${key.length}-byte key, ${JSON.stringify(text.slice(0, 20))}`);
      }
    }
  });

  test('a 32-byte key is AES-256-CBC with the key\'s first block as IV', () => {
    const encrypted = createFieldCipher([KEY_256]).encrypt('the-password');
    const key = Buffer.from(KEY_256);
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    const plain = Buffer.concat([decipher.update(Buffer.from(encrypted, 'base64')), decipher.final()]);
    assert.equal(plain.toString(), 'the-password');
    assert.notEqual(encrypted, createFieldCipher([KEY_256.slice(0, 16)]).encrypt('the-password'));
  });

  test('key rotation: the first key encrypts, every key decrypts', () => {
    const old = createFieldCipher([KEY_A]).encrypt('s3cret-value');
    const rotated = createFieldCipher([KEY_256, KEY_B, KEY_A]);
    assert.equal(rotated.decrypt(old), 's3cret-value');
    assert.notEqual(rotated.encrypt('s3cret-value'), old, 'new writes use the new first key');
    assert.equal(createFieldCipher([KEY_B, KEY_256]).decrypt(old), undefined, 'a removed key no longer decrypts');
  });

  test('values that are not ciphertext of the keyring give undefined', () => {
    const cipher = createFieldCipher(DEFAULT_KEYRING);
    const notCiphertext = [
      '', 'plain-key', 'auth-one', 'abcd', // not base64, or not whole AES blocks
      'WvF5kpaLvIzjuk4GNIMTJg', // padding stripped: not canonical
      'WvF5kpaLv IzjGNIMTJg==', // a stray character Node's decoder would skip
      Buffer.alloc(16).toString('base64'), // a block, but not encrypted with these keys
      createFieldCipher([KEY_256]).encrypt('other keyring'),
    ];
    for (const text of notCiphertext) assert.equal(cipher.decrypt(text), undefined, text);
  });

  test('an empty keyring or a key of another length is refused', () => {
    for (const keyring of [[], ['tooshort'], [KEY_A, `${KEY_A}x`], ['ß'.repeat(8) + '12345678']]) {
      assert.throws(() => createFieldCipher(keyring), (err: unknown) => err instanceof InvalidKeyringError && err.code === 'ENCRYPTION_INVALID_KEYRING');
    }
    // 16 characters of 2 bytes each are 32 bytes: a valid AES-256 key.
    assert.equal(createFieldCipher(['é'.repeat(16)]).decrypt(createFieldCipher(['é'.repeat(16)]).encrypt('x')), 'x');
  });
});

describe('cipherFromConfig', () => {
  const config = (yaml: string) => parseConfig(yaml, { env: {} }).config;

  test('on by default with the embedded store, and with etcd', () => {
    const embedded = cipherFromConfig(config(''));
    assert.equal(embedded?.encrypt('the-password'), 'WvF5kpaLvIzjuk4GNIMTJg==');
    const etcd = cipherFromConfig(config('deployment:\n  role_traditional:\n    config_provider: etcd\n'));
    assert.equal(etcd?.decrypt('77+NmbYqNfN+oLm0aX5akg=='), 'bar');
  });

  test('off when disabled, without keys, or with the standalone file', () => {
    assert.equal(cipherFromConfig(config('apisix:\n  data_encryption:\n    enable_encrypt_fields: false\n')), undefined);
    assert.equal(cipherFromConfig(config('apisix:\n  data_encryption: ~\n')), undefined);
    assert.equal(cipherFromConfig(config('apisix:\n  data_encryption:\n    keyring: ~\n')), undefined);
    assert.equal(cipherFromConfig(config('deployment:\n  role_traditional:\n    config_provider: yaml\n')), undefined);
  });

  test('uses the configured keyring', () => {
    const cipher = cipherFromConfig(config(`apisix:\n  data_encryption:\n    keyring: [${KEY_256}]\n`));
    assert.equal(createFieldCipher([KEY_256]).decrypt(cipher?.encrypt('x') ?? ''), 'x');
  });
});

describe('transformFields (spec/plugins.md §8.3)', () => {
  const upper = (text: string): string => text.toUpperCase();

  test('a top-level string and nested objects', () => {
    const conf = { key: 'k', authorization: { iam: { secretkey: 's', accesskey: 'a' }, apikey: 'x' }, other: 'o' };
    assert.deepEqual(transformFields(conf, ['key', 'authorization.iam.secretkey', 'authorization.apikey'], upper), {
      key: 'K',
      authorization: { iam: { secretkey: 'S', accesskey: 'a' }, apikey: 'X' },
      other: 'o',
    });
  });

  test('arrays on the way are walked element by element', () => {
    const conf = { auth: [{ key: 'a' }, { key: 'b', keep: 'c' }, 'scalar', { nokey: 'd' }, [{ key: 'e' }]] };
    assert.deepEqual(transformFields(conf, ['auth.key'], upper), {
      auth: [{ key: 'A' }, { key: 'B', keep: 'c' }, 'scalar', { nokey: 'd' }, [{ key: 'E' }]],
    });
  });

  test('at the leaf: an array of strings element-wise, an object of strings value-wise', () => {
    const conf = { keys: ['a', 1, 'b', null], headers: { x: 'a', y: 2, z: { deep: 'kept' } }, flag: true };
    assert.deepEqual(transformFields(conf, ['keys', 'headers', 'flag'], upper), {
      keys: ['A', 1, 'B', null],
      headers: { x: 'A', y: 2, z: { deep: 'kept' } },
      flag: true,
    });
  });

  test('missing paths and scalars on the way are skipped', () => {
    const conf = { a: 'x', b: { c: 1 }, d: null };
    assert.deepEqual(transformFields(conf, ['missing', 'a.b', 'b.c.d', 'b.missing', 'd.e', 'toString', 'constructor.name'], upper), conf);
  });

  test('never changes its input; the in-place variant does', () => {
    const conf = { auth: [{ key: 'a' }], nested: { list: ['b'] } };
    const before = structuredClone(conf);
    const out = transformFields(conf, ['auth.key', 'nested.list'], upper);
    assert.deepEqual(conf, before);
    assert.deepEqual(out, { auth: [{ key: 'A' }], nested: { list: ['B'] } });

    transformFieldsInPlace(conf, ['auth.key', 'nested.list'], upper);
    assert.deepEqual(conf, out);
  });
});

/** A catalog whose plugins declare secret fields per target; records what it was asked. */
function secretCatalog(asked: Array<[string, PluginTarget | 'metadata']> = []): PluginCatalog {
  const fields: Record<string, Partial<Record<PluginTarget | 'metadata', string[]>>> = {
    'key-auth': { route: [], consumer: ['key'], credential: ['key'] },
    openwhisk: { route: ['service_token'], service: ['service_token'], consumer: ['service_token'], global_rule: ['service_token'] },
    'aws-lambda': { route: ['authorization.apikey', 'authorization.iam.secretkey'] },
    'azure-functions': { metadata: ['master_apikey'] },
  };
  return {
    ...noPlugins,
    encryptFields(name, target) {
      asked.push([name, target]);
      return fields[name]?.[target] ?? [];
    },
  };
}

describe('encryptResource / decryptResource', () => {
  const cipher = createFieldCipher(DEFAULT_KEYRING);
  const PASSWORD = 'WvF5kpaLvIzjuk4GNIMTJg==';

  test('every plugin of a route, with the route target', () => {
    const asked: Array<[string, PluginTarget | 'metadata']> = [];
    const route = {
      id: '1',
      uri: '/f',
      plugins: {
        openwhisk: { api_host: 'http://h', service_token: 'the-password' },
        'aws-lambda': { authorization: { apikey: 'the-password', iam: { accesskey: 'a', secretkey: 'the-password' } } },
        'key-auth': { key: 'the-password' },
      },
    };
    const stored = encryptResource('routes', route, secretCatalog(asked), cipher);
    assert.deepEqual(stored.plugins, {
      openwhisk: { api_host: 'http://h', service_token: PASSWORD },
      'aws-lambda': { authorization: { apikey: PASSWORD, iam: { accesskey: 'a', secretkey: PASSWORD } } },
      'key-auth': { key: 'the-password' },
    });
    assert.ok(asked.every(([, target]) => target === 'route'));
    assert.equal(route.plugins.openwhisk.service_token, 'the-password', 'input unchanged');
    assert.deepEqual(decryptResource('routes', stored, secretCatalog(), cipher), route);
  });

  test('consumers and credentials ask for their own targets', () => {
    for (const [resource, target] of [['consumers', 'consumer'], ['credentials', 'credential'], ['services', 'service'], ['global_rules', 'global_rule']] as const) {
      const asked: Array<[string, PluginTarget | 'metadata']> = [];
      encryptResource(resource, { plugins: { 'key-auth': { key: 'k' } } }, secretCatalog(asked), cipher);
      assert.deepEqual(asked, [['key-auth', target]], resource);
    }
    const credential = encryptResource('credentials', { id: 'c1', plugins: { 'key-auth': { key: 'the-password' } } }, secretCatalog(), cipher);
    assert.deepEqual(credential, { id: 'c1', plugins: { 'key-auth': { key: PASSWORD } } });
  });

  test('plugin_metadata: the value itself, for plugin `id`', () => {
    const asked: Array<[string, PluginTarget | 'metadata']> = [];
    const stored = encryptResource('plugin_metadata', { id: 'azure-functions', master_apikey: 'the-password' }, secretCatalog(asked), cipher);
    assert.deepEqual(stored, { id: 'azure-functions', master_apikey: PASSWORD });
    assert.deepEqual(asked, [['azure-functions', 'metadata']]);
    assert.deepEqual(decryptResource('plugin_metadata', stored, secretCatalog(), cipher), { id: 'azure-functions', master_apikey: 'the-password' });
  });

  test('values without secrets come back as themselves', () => {
    const catalog = secretCatalog();
    const upstream = { id: 'u', nodes: { 'h:1': 1 }, plugins: { openwhisk: { service_token: 't' } } };
    assert.equal(encryptResource('upstreams', upstream, catalog, cipher), upstream);
    const route = { uri: '/a', plugins: { 'key-auth': { key: 'k' }, 'other-plugin': { key: 'x' }, broken: 'not an object' } };
    assert.equal(encryptResource('routes', route, catalog, cipher), route);
    assert.equal(decryptResource('routes', route, catalog, cipher), route);
    const noPluginsRoute = { uri: '/b' };
    assert.equal(decryptResource('routes', noPluginsRoute, catalog, cipher), noPluginsRoute);
  });

  test('a field no key decrypts is kept as stored and reported', () => {
    const stored = { plugins: { openwhisk: { service_token: 'written-before-encryption' } } };
    const reported: Array<[string, string]> = [];
    const read = decryptResource('routes', stored, secretCatalog(), cipher, (plugin, path) => reported.push([plugin, path]));
    assert.deepEqual(read, stored);
    assert.deepEqual(reported, [['openwhisk', 'service_token']]);
  });
});

describe('decryptForLoad', () => {
  const cipher = createFieldCipher(DEFAULT_KEYRING);

  test('decrypts in place and reports fields it cannot decrypt', () => {
    const value: JsonObject = {
      plugins: {
        openwhisk: { service_token: 'WvF5kpaLvIzjuk4GNIMTJg==' },
        'aws-lambda': { authorization: { apikey: 'plain', iam: { secretkey: '77+NmbYqNfN+oLm0aX5akg==' } } },
      },
    };
    const warnings = decryptForLoad('routes', value, secretCatalog(), cipher);
    assert.deepEqual(value.plugins, {
      openwhisk: { service_token: 'the-password' },
      'aws-lambda': { authorization: { apikey: 'plain', iam: { secretkey: 'bar' } } },
    });
    assert.deepEqual(warnings, ['failed to decrypt the conf of plugin [aws-lambda] key [authorization.apikey]; the stored text is used as is']);
  });

  test('a value without secrets is left alone', () => {
    const value: JsonObject = { uri: '/a', plugins: { 'key-auth': { key: 'WvF5kpaLvIzjuk4GNIMTJg==' } } };
    assert.deepEqual(decryptForLoad('routes', value, secretCatalog(), cipher), []);
    assert.deepEqual(value, { uri: '/a', plugins: { 'key-auth': { key: 'WvF5kpaLvIzjuk4GNIMTJg==' } } });
  });
});
