/**
 * Secrets at rest: plugin `encrypt_fields` encrypted with the
 * `apisix.data_encryption.keyring` before they reach the config store and
 * decrypted when read back (spec/admin-api.md §7, spec/plugins.md §8.3).
 *
 * The format is APISIX's, byte for byte, so a store written by APISIX loads
 * here and the other way round: AES-CBC keyed by a keyring entry, PKCS#7
 * padding, standard base64.
 *
 * Three layers, each usable alone:
 * - {@link createFieldCipher}: one string in, one string out;
 * - {@link transformFields} / {@link transformFieldsInPlace}: dotted-path walking over one plugin configuration;
 * - {@link encryptResource} / {@link decryptResource} / {@link decryptForLoad}:
 *   every plugin configuration of a stored object, with the paths its plugin declares.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { FngateConfig } from '../config/types.js';
import { FngateError } from '../errors.js';
import type { JsonObject, ResourceName } from '../resources/types.js';
import type { PluginCatalog, PluginTarget } from './catalog.js';

/** A keyring that cannot encrypt: empty, or an entry that is not 16 or 32 bytes. */
export class InvalidKeyringError extends FngateError {
  readonly code = 'ENCRYPTION_INVALID_KEYRING';
}

/** Encrypts and decrypts single field values with a keyring. */
export interface FieldCipher {
  /** Ciphertext (base64) of `text` under the first keyring entry. */
  encrypt(text: string): string;
  /**
   * Plaintext of `text`, trying every keyring entry in order; undefined when
   * no entry decrypts it (for instance a value stored before encryption was
   * turned on, which callers then use as it is, as APISIX does).
   */
  decrypt(text: string): string | undefined;
}

interface KeyringEntry {
  readonly algorithm: 'aes-128-cbc' | 'aes-256-cbc';
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** AES block size: the IV and every ciphertext length are multiples of it. */
const BLOCK_BYTES = 16;

// `fatal` rejects bytes that are not UTF-8 (see `decrypt`); `ignoreBOM`
// keeps a leading U+FEFF that belongs to the secret.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A cipher over `keyring` (each entry's UTF-8 bytes are the key: 16 bytes →
 * AES-128-CBC, 32 bytes → AES-256-CBC). Throws {@link InvalidKeyringError}
 * on an empty keyring or a key of another length (config.yaml validation
 * catches both first).
 *
 * The IV is the key itself (its first 16 bytes for a 32-byte key, since a
 * CBC IV is one block). That is APISIX's choice and is kept for
 * compatibility with stores APISIX wrote, not because it is good practice:
 * a fixed IV makes the scheme deterministic, so equal secrets give equal
 * ciphertexts. It protects the store's content at rest, nothing more.
 *
 * Decryption also requires the plaintext to be valid UTF-8. Every real
 * secret is (it was a JSON string), while a wrong key passes the PKCS#7
 * padding check about once in 256 tries and would otherwise return garbage
 * for a value that the next key decrypts correctly.
 *
 * @example
 *   const cipher = createFieldCipher(['qeddd145sfvddff3', 'edd1c9f0985e76a2']);
 *   cipher.encrypt('the-password');             // 'WvF5kpaLvIzjuk4GNIMTJg=='
 *   cipher.decrypt('77+NmbYqNfN+oLm0aX5akg=='); // 'bar' (second key)
 *   cipher.decrypt('plain-key');                // undefined
 */
export function createFieldCipher(keyring: readonly string[]): FieldCipher {
  const entries = keyring.map(keyringEntry);
  const first = entries[0];
  if (first === undefined) throw new InvalidKeyringError('data encryption needs at least one keyring key');

  return {
    encrypt(text) {
      const cipher = createCipheriv(first.algorithm, first.key, first.iv);
      return Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]).toString('base64');
    },
    decrypt(text) {
      const bytes = ciphertextBytes(text);
      if (bytes === undefined) return undefined;
      for (const entry of entries) {
        try {
          const decipher = createDecipheriv(entry.algorithm, entry.key, entry.iv);
          return utf8.decode(Buffer.concat([decipher.update(bytes), decipher.final()]));
        } catch {
          // Bad padding or not UTF-8: not this key.
        }
      }
      return undefined;
    },
  };
}

function keyringEntry(text: string, index: number): KeyringEntry {
  const key = Buffer.from(text, 'utf8');
  if (key.length !== 16 && key.length !== 32) {
    throw new InvalidKeyringError(`keyring key ${index} must be 16 or 32 bytes long (got ${key.length})`);
  }
  return { algorithm: key.length === 16 ? 'aes-128-cbc' : 'aes-256-cbc', key, iv: key.subarray(0, BLOCK_BYTES) };
}

/**
 * The bytes behind a ciphertext, or undefined when `text` cannot be one:
 * not canonical base64 (Node's decoder would silently skip stray
 * characters) or not a whole number of AES blocks.
 */
function ciphertextBytes(text: string): Buffer | undefined {
  if (text.length === 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0 || bytes.length % BLOCK_BYTES !== 0) return undefined;
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * The cipher the config asks for, or undefined when fields are stored as
 * sent: `apisix.data_encryption.enable_encrypt_fields` is off, the keyring
 * is empty, or the config provider is the standalone yaml file.
 *
 * APISIX encrypts only with its etcd provider. fngate's embedded store is a
 * store at rest just like etcd, so it is encrypted too; the standalone file
 * is written by the user and is read as written, never encrypted or
 * decrypted.
 *
 * @example
 *   const cipher = cipherFromConfig(config);
 *   if (cipher) decryptForLoad('routes', route, catalog, cipher);
 */
export function cipherFromConfig(config: FngateConfig): FieldCipher | undefined {
  const { enable_encrypt_fields: enabled, keyring } = config.apisix.data_encryption;
  if (!enabled || keyring.length === 0) return undefined;
  const provider = config.deployment.config_provider;
  if (provider !== 'etcd' && provider !== 'embedded') return undefined;
  return createFieldCipher(keyring);
}

// ---------------------------------------------------------------------------
// Path walking (spec/plugins.md §8.3)

/**
 * Apply `transform` to the fields `paths` name inside `conf`, on a deep copy
 * (`conf` is never changed). A path is dotted (`authorization.iam.secretkey`);
 * an array met on the way is walked element by element; at the end of the
 * path a string is transformed, an array element-wise and an object
 * value-wise (strings only, other values kept). Paths that are missing, or
 * run into a scalar, are skipped.
 *
 * @example
 *   transformFields({ auth: [{ key: 'a' }, { key: 'b' }] }, ['auth.key'], (s) => s.toUpperCase());
 *   // { auth: [{ key: 'A' }, { key: 'B' }] }
 */
export function transformFields<T>(conf: T, paths: readonly string[], transform: (text: string) => string): T {
  const copy = structuredClone(conf);
  transformFieldsInPlace(copy, paths, transform);
  return copy;
}

/**
 * {@link transformFields} writing into `conf` itself, for callers that own
 * it (the gateway loader owns the object it just parsed).
 *
 * @example
 *   const conf = { key: 'secret' };
 *   transformFieldsInPlace(conf, ['key'], (s) => s.length.toString()); // conf.key === '6'
 */
export function transformFieldsInPlace(conf: unknown, paths: readonly string[], transform: (text: string) => string): void {
  for (const path of paths) walk(conf, path.split('.'), 0, transform);
}

/** Follow `segments[index..]` from `node`, transforming what the last segment names. */
function walk(node: unknown, segments: readonly string[], index: number, transform: (text: string) => string): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, segments, index, transform);
    return;
  }
  if (!isJsonObject(node)) return;
  const name = segments[index] as string;
  // Own properties only: a path must never reach Object.prototype.
  if (!Object.hasOwn(node, name)) return;
  if (index < segments.length - 1) {
    walk(node[name], segments, index + 1, transform);
    return;
  }
  const leaf = node[name];
  if (typeof leaf === 'string') {
    node[name] = transform(leaf);
  } else if (Array.isArray(leaf)) {
    leaf.forEach((item: unknown, i) => {
      if (typeof item === 'string') leaf[i] = transform(item);
    });
  } else if (isJsonObject(leaf)) {
    for (const [key, item] of Object.entries(leaf)) {
      if (typeof item === 'string') leaf[key] = transform(item);
    }
  }
}

// ---------------------------------------------------------------------------
// Stored objects

/** Which plugin list applies to the `plugins` of each resource; plugin_metadata is a plugin's metadata itself. */
const TARGETS: Readonly<Record<ResourceName, PluginTarget | 'metadata' | undefined>> = {
  routes: 'route',
  services: 'service',
  plugin_configs: 'plugin_config',
  consumer_groups: 'consumer_group',
  global_rules: 'global_rule',
  consumers: 'consumer',
  credentials: 'credential',
  plugin_metadata: 'metadata',
  upstreams: undefined,
  ssls: undefined,
};

/** A plugin configured in a stored object whose plugin declares secret paths. */
interface SecretSite {
  readonly plugin: string;
  readonly paths: readonly string[];
}

/**
 * The plugins of `value` with secret paths: those of `value.plugins` for
 * objects with plugins, plugin `value.id` for plugin_metadata.
 */
function secretSites(resource: ResourceName, value: JsonObject, catalog: PluginCatalog): SecretSite[] {
  const target = TARGETS[resource];
  if (target === undefined) return [];
  if (target === 'metadata') {
    const plugin = value.id;
    if (typeof plugin !== 'string') return [];
    const paths = catalog.encryptFields(plugin, 'metadata');
    return paths.length === 0 ? [] : [{ plugin, paths }];
  }
  const plugins = value.plugins;
  if (!isJsonObject(plugins)) return [];
  const sites: SecretSite[] = [];
  for (const [plugin, conf] of Object.entries(plugins)) {
    if (!isJsonObject(conf)) continue;
    const paths = catalog.encryptFields(plugin, target);
    if (paths.length > 0) sites.push({ plugin, paths });
  }
  return sites;
}

/** Where a site's configuration sits in `value` (the value itself for plugin_metadata). */
function siteConf(resource: ResourceName, value: JsonObject, plugin: string): unknown {
  return resource === 'plugin_metadata' ? value : (value.plugins as JsonObject)[plugin];
}

/** Called once per stored field value that no keyring entry decrypts. */
export type UndecryptableField = (plugin: string, path: string) => void;

/**
 * The value to store for `value` of `resource`: every secret field of every
 * plugin configuration in it encrypted with the first keyring key. Returns
 * `value` itself when it holds no secret field, otherwise an encrypted deep
 * copy; `value` is never changed.
 *
 * @example
 *   encryptResource('credentials', { id: 'c1', plugins: { 'key-auth': { key: 'the-password' } } }, catalog, cipher);
 *   // { id: 'c1', plugins: { 'key-auth': { key: 'WvF5kpaLvIzjuk4GNIMTJg==' } } }
 */
export function encryptResource(resource: ResourceName, value: JsonObject, catalog: PluginCatalog, cipher: FieldCipher): JsonObject {
  const sites = secretSites(resource, value, catalog);
  if (sites.length === 0) return value;
  const copy = structuredClone(value);
  const encrypt = (text: string): string => cipher.encrypt(text);
  for (const { plugin, paths } of sites) transformFieldsInPlace(siteConf(resource, copy, plugin), paths, encrypt);
  return copy;
}

/**
 * A stored `value` of `resource` as users see it: secret fields decrypted.
 * A field no keyring key decrypts stays as stored and is reported through
 * `onUndecryptable`. Returns `value` itself when it holds no secret field,
 * otherwise a decrypted deep copy; `value` is never changed.
 *
 * @example
 *   decryptResource('plugin_metadata', { id: 'azure-functions', master_apikey: 'WvF5kpaLvIzjuk4GNIMTJg==' }, catalog, cipher);
 *   // { id: 'azure-functions', master_apikey: 'the-password' }
 */
export function decryptResource(
  resource: ResourceName,
  value: JsonObject,
  catalog: PluginCatalog,
  cipher: FieldCipher,
  onUndecryptable?: UndecryptableField,
): JsonObject {
  const sites = secretSites(resource, value, catalog);
  if (sites.length === 0) return value;
  const copy = structuredClone(value);
  decryptSites(resource, copy, sites, cipher, onUndecryptable);
  return copy;
}

/**
 * The gateway loader's decryption (spec/plugins.md §8.1: before validation):
 * decrypts `value`'s secret fields **in place**, since the loader owns the
 * object it has just parsed and a copy would be waste. Returns one warning
 * per plugin field that no keyring key decrypts; such a field keeps its
 * stored text (APISIX logs and uses it as is).
 *
 * @example
 *   const value = JSON.parse(raw);
 *   const warnings = decryptForLoad('routes', value, catalog, cipher);
 *   // then validate `value` and use it
 */
export function decryptForLoad(resource: ResourceName, value: JsonObject, catalog: PluginCatalog, cipher: FieldCipher): string[] {
  const failed = new Set<string>();
  decryptSites(resource, value, secretSites(resource, value, catalog), cipher, (plugin, path) => {
    failed.add(`failed to decrypt the conf of plugin [${plugin}] key [${path}]; the stored text is used as is`);
  });
  return [...failed];
}

function decryptSites(
  resource: ResourceName,
  value: JsonObject,
  sites: readonly SecretSite[],
  cipher: FieldCipher,
  onUndecryptable: UndecryptableField | undefined,
): void {
  for (const { plugin, paths } of sites) {
    const conf = siteConf(resource, value, plugin);
    for (const path of paths) {
      walk(conf, path.split('.'), 0, (text) => {
        const plain = cipher.decrypt(text);
        if (plain !== undefined) return plain;
        onUndecryptable?.(plugin, path);
        return text;
      });
    }
  }
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
