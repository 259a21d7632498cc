/**
 * A random value that fits a JSON schema, for the mocking plugin's
 * `response_schema`. APISIX generates by `type` and `example` only; fngate
 * keeps those rules and also honours what makes mock data look right:
 *
 * - `example` (or the first of OpenAPI's `examples`) when it fits the type
 *   (an integer example is floored, as APISIX does), then `const`, `enum`;
 * - strings: common `format`s (date-time, date, time, email, uri, uuid,
 *   ipv4, ipv6, hostname), else 1–10 lowercase letters within
 *   `minLength`/`maxLength`;
 * - numbers in [`minimum`, `maximum`] (default 0–10000), integers
 *   (default 1–10000); booleans either way; `null`;
 * - arrays of 1–3 items (within `minItems`/`maxItems`); tuple `items` one
 *   each; objects with every property;
 * - no `type`: inferred from `properties` / `items`, else the first branch
 *   of `oneOf` / `anyOf`; `allOf` branches are merged; a type list takes its
 *   first non-null type.
 *
 * A schema it cannot make sense of yields `undefined`, which JSON leaves
 * out (APISIX leaves such fields out too).
 */
import { randomUUID } from 'node:crypto';

type Schema = Readonly<Record<string, unknown>>;

/** Random source: a float in [0, 1) (tests pass a seeded one). */
export type Random = () => number;

/** Deeper than this, a schema is not followed further (it can only be that deep on purpose). */
const MAX_DEPTH = 32;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function intBetween(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** The type a schema describes, lower-cased as APISIX compares it. */
function typeOf(schema: Schema): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type.toLowerCase();
  if (Array.isArray(type)) {
    const named = type.filter((t): t is string => typeof t === 'string').map((t) => t.toLowerCase());
    return named.find((t) => t !== 'null') ?? named[0];
  }
  if (isSchema(schema.properties)) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

function fits(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
    case 'integer':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isSchema(value);
    case 'null':
      return value === null;
    default:
      return false;
  }
}

function exampleOf(schema: Schema): unknown {
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  return undefined;
}

function letters(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(97 + Math.floor(random() * 26));
  return out;
}

function sampleString(schema: Schema, random: Random): string {
  switch (schema.format) {
    case 'date-time':
      return new Date().toISOString();
    case 'date':
      return new Date().toISOString().slice(0, 10);
    case 'time':
      return new Date().toISOString().slice(11, 19);
    case 'email':
      return `${letters(random, 6)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${letters(random, 6)}`;
    case 'uuid':
      return randomUUID();
    case 'ipv4':
      return `192.0.2.${intBetween(random, 1, 254)}`;
    case 'ipv6':
      return `2001:db8::${intBetween(random, 1, 0xffff).toString(16)}`;
    case 'hostname':
      return `${letters(random, 6)}.example.com`;
    default: {
      const min = typeof schema.minLength === 'number' ? Math.max(0, Math.floor(schema.minLength)) : 1;
      const max = typeof schema.maxLength === 'number' ? Math.max(min, Math.floor(schema.maxLength)) : Math.max(min, 10);
      return letters(random, intBetween(random, min, max));
    }
  }
}

function bounds(schema: Schema, low: number, high: number): [number, number] {
  const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : low;
  const max = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : Math.max(high, min);
  return [min, Math.max(min, max)];
}

function sampleArray(schema: Schema, random: Random, depth: number): unknown[] | undefined {
  const items = schema.items;
  if (Array.isArray(items)) return items.map((item) => (isSchema(item) ? sampleAt(item, random, depth + 1) : undefined));
  if (!isSchema(items)) return undefined;
  const min = typeof schema.minItems === 'number' ? Math.max(0, Math.floor(schema.minItems)) : 1;
  const max = typeof schema.maxItems === 'number' ? Math.max(min, Math.floor(schema.maxItems)) : Math.max(min, 3);
  const n = intBetween(random, min, Math.min(max, Math.max(min, 3)));
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(sampleAt(items, random, depth + 1));
  return out;
}

function sampleObject(schema: Schema, random: Random, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = schema.properties;
  if (!isSchema(properties)) return out;
  for (const [name, property] of Object.entries(properties)) {
    if (isSchema(property)) out[name] = sampleAt(property, random, depth + 1);
  }
  return out;
}

/** `allOf` flattened into one schema (properties merged), the rest of the schema winning. */
function mergeAllOf(schema: Schema): Schema {
  if (!Array.isArray(schema.allOf)) return schema;
  const merged: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const part of [...schema.allOf, { ...schema, allOf: undefined }]) {
    if (!isSchema(part)) continue;
    Object.assign(merged, part);
    if (isSchema(part.properties)) Object.assign(properties, part.properties);
  }
  if (Object.keys(properties).length > 0) merged.properties = properties;
  delete merged.allOf;
  return merged;
}

function sampleAt(input: Schema, random: Random, depth: number): unknown {
  if (depth > MAX_DEPTH) return undefined;
  const schema = mergeAllOf(input);
  const type = typeOf(schema);
  if (type === undefined) {
    const branches = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined;
    const first: unknown = branches?.[0];
    if (isSchema(first)) return sampleAt({ ...schema, oneOf: undefined, anyOf: undefined, ...first }, random, depth + 1);
  }
  const example = exampleOf(schema);
  if (type !== undefined && example !== undefined && fits(type, example)) return type === 'integer' ? Math.floor(example as number) : example;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[intBetween(random, 0, schema.enum.length - 1)];
  switch (type) {
    case 'string':
      return sampleString(schema, random);
    case 'number': {
      const [min, max] = bounds(schema, 0, 10_000);
      return min + random() * (max - min);
    }
    case 'integer': {
      const [min, max] = bounds(schema, 1, 10_000);
      return intBetween(random, Math.ceil(min), Math.floor(max));
    }
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    case 'array':
      return sampleArray(schema, random, depth);
    case 'object':
      return sampleObject(schema, random, depth);
    default:
      return undefined;
  }
}

/**
 * @example
 *   sampleFromSchema({ type: 'object', properties: { id: { type: 'integer', example: 7 }, tags: { type: 'array', items: { type: 'string' } } } });
 *   // { id: 7, tags: ['kqz', 'ab'] }
 */
export function sampleFromSchema(schema: Schema, random: Random = Math.random): unknown {
  return sampleAt(schema, random, 0);
}
