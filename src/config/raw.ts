/**
 * The config document before normalisation: what YAML parsing produces.
 * Only JSON-like values occur (the YAML parser is asked for plain objects).
 */
export type RawValue = string | number | boolean | null | RawValue[] | RawObject;
export interface RawObject {
  [key: string]: RawValue;
}

export function isRawObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Lua's type names, because APISIX's merge errors use them
 * (`expect: number, but got: string`) and users search for those messages.
 */
export function luaTypeName(value: RawValue): 'table' | 'string' | 'number' | 'boolean' | 'nil' {
  if (value === null) return 'nil';
  if (typeof value === 'object') return 'table';
  return typeof value as 'string' | 'number' | 'boolean';
}

/** Freeze a document and everything in it, so a loaded config cannot be changed by accident. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}
