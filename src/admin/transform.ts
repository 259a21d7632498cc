/**
 * The seam for values that must not be stored as sent: plugin
 * `encrypt_fields` are encrypted before they reach the store and decrypted
 * when read back (spec/admin-api.md §7). {@link createEncryptionTransform}
 * builds the transform a gateway's config asks for.
 */
import type { FngateConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { PluginCatalog } from '../plugin/catalog.js';
import { cipherFromConfig, decryptResource, encryptResource, type UndecryptableField } from '../plugin/encryption.js';
import type { JsonObject, ResourceName } from '../resources/types.js';

export interface StoredValueTransform {
  /**
   * Applied to the complete value right before it is written. Write
   * responses echo its result (APISIX shows ciphertext there).
   */
  forStorage(resource: ResourceName, value: JsonObject): JsonObject;
  /**
   * Applied to a stored value before GET returns it, before PATCH merges
   * into it (so fields are never encrypted twice), and before reference and
   * duplicate-key checks compare it.
   */
  forRead(resource: ResourceName, value: JsonObject): JsonObject;
}

/** Stores and returns values exactly as given. */
export const identityTransform: StoredValueTransform = {
  forStorage: (_resource, value) => value,
  forRead: (_resource, value) => value,
};

/**
 * The Admin API's transform for `config`: plugin secret fields (the paths
 * `catalog.encryptFields` names) are encrypted for storage and decrypted
 * for reads when `apisix.data_encryption.enable_encrypt_fields` is on and
 * the store is etcd or fngate's embedded store (never the standalone yaml
 * file: see `cipherFromConfig`); otherwise {@link identityTransform}.
 *
 * Neither direction changes its argument: a value with secrets comes back
 * as a transformed copy, one without as itself. A stored field that no
 * keyring key decrypts (written before encryption was turned on, or under a
 * key since removed from the keyring) is shown as stored, as in APISIX, and
 * logged at debug level (the gateway loader reports it as a warning).
 *
 * @example
 *   const transform = createEncryptionTransform(config, catalog, logger);
 *   transform.forStorage('consumers', { username: 'jack', plugins: { 'key-auth': { key: 'the-password' } } });
 *   // { username: 'jack', plugins: { 'key-auth': { key: 'WvF5kpaLvIzjuk4GNIMTJg==' } } }
 */
export function createEncryptionTransform(config: FngateConfig, catalog: PluginCatalog, logger?: Logger): StoredValueTransform {
  const cipher = cipherFromConfig(config);
  if (cipher === undefined) return identityTransform;
  const reportUndecryptable: UndecryptableField | undefined = logger && ((plugin, path) => {
    logger.debug({ plugin, field: path }, 'stored plugin field is not ciphertext of the keyring; shown as stored');
  });
  return {
    forStorage: (resource, value) => encryptResource(resource, value, catalog, cipher),
    forRead: (resource, value) => decryptResource(resource, value, catalog, cipher, reportUndecryptable),
  };
}
