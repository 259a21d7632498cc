import type { JsonObject } from '../resources/types.js';

/**
 * A decoded JSON object (not an array, not null).
 *
 * @example
 *   isPlainObject({}) // true
 *   isPlainObject([]) // false
 */
export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
