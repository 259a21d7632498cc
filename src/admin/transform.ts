/**
 * The seam for values that must not be stored as sent: plugin
 * `encrypt_fields` and SSL private keys are encrypted before they reach the
 * store and decrypted when read back (spec/admin-api.md §7). The plugin
 * framework provides the real transform; until then values pass unchanged.
 */
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
