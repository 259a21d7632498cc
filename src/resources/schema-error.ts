/**
 * Ajv errors → the one message api7/jsonschema (APISIX's validator) returns
 * for the same value (spec/admin-api.md §6.10).
 *
 * api7/jsonschema stops at the first failure, checking a schema node in a
 * fixed order: `type`; then, for objects, each of `properties` (nested
 * failures prefixed with `property "<p>" validation failed: `, a missing
 * required property at its turn), the remaining `required`, `dependencies`,
 * `patternProperties` / `additionalProperties`, property counts; then array,
 * string and number keywords; then `enum`, `allOf`, `anyOf`, `oneOf`,
 * `if`/`then`/`else`, `not`, `format`, `const`. Ajv checks in a different
 * order (combinators first), so the errors of an `allErrors` run are walked
 * here in api7's order instead of taking Ajv's first error. Branch errors of
 * `anyOf`/`oneOf`/`not` are never reported: api7 only names the combinator.
 *
 * Lua's `pairs()` order of `properties` is unspecified in APISIX; fngate uses
 * the schema's declaration order.
 */
import type { ErrorObject } from 'ajv';
import { luaNumber, luaQuote, luaType } from './lua-text.js';

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Ajv's escaping of a property name inside `schemaPath` (JSON pointer + URI fragment). */
function fragment(name: string): string {
  return encodeURIComponent(pointer(name));
}

/** JSON pointer escaping, as in Ajv's `instancePath`. */
function pointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `path` is `base` or below it. */
function under(path: string, base: string): boolean {
  return path === base || path.startsWith(`${base}/`);
}

function decodeSegment(raw: string): string {
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A `$ref` written without URI escaping: use it as is.
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}

function resolvePointer(root: unknown, path: string): unknown {
  let node = root;
  for (const raw of path.split('/').slice(1)) {
    const key = decodeSegment(raw);
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

const COMPARISONS: Readonly<Record<string, string>> = {
  minimum: 'at least',
  exclusiveMinimum: 'greater than',
  maximum: 'at most',
  exclusiveMaximum: 'smaller than',
};

/** api7's `unique_item_in_array`: scalars first (first and repeated index), then tables pairwise; 1-based. */
function duplicatePair(items: readonly unknown[]): [number, number] | undefined {
  const seen = new Map<unknown, number>();
  const tables: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'object' && item !== null) {
      tables.push(i);
      continue;
    }
    const first = seen.get(item);
    if (first !== undefined) return [first + 1, i + 1];
    seen.set(item, i);
  }
  for (let a = 0; a < tables.length; a++) {
    for (let b = a + 1; b < tables.length; b++) {
      const i = tables[a] as number;
      const j = tables[b] as number;
      if (JSON.stringify(canonical(items[i])) === JSON.stringify(canonical(items[j]))) return [i + 1, j + 1];
    }
  }
  return undefined;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isObject(value)) {
    const out: Schema = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical(value[key]);
    return out;
  }
  return value;
}

function formatMessage(format: unknown, value: unknown): string | undefined {
  const shown = typeof value === 'string' ? value : String(value);
  switch (format) {
    case 'ipv4':
    case 'hostname': // api7/jsonschema's own text for hostname
      return `expect valid ipv4 address but got: ${shown}`;
    case 'ipv6':
      return `expect valid ipv6 address but got: ${shown}`;
    case 'email':
      return `expect valid email address but got: ${shown}`;
    default:
      return undefined;
  }
}

class Explainer {
  constructor(
    private readonly root: unknown,
    private readonly data: unknown,
    private readonly errors: readonly ErrorObject[],
  ) {}

  /** The error of `keyword` placed directly on the schema node `sp` for the value at `ip`. */
  private at(sp: string, ip: string, keyword: string): ErrorObject | undefined {
    const path = `${sp}/${keyword}`;
    return this.errors.find((e) => e.schemaPath === path && e.instancePath === ip);
  }

  /** Any error inside the schema node `sp` for the value at `ip` or below. */
  private has(sp: string, ip: string): boolean {
    return this.errors.some((e) => under(e.schemaPath, sp) && under(e.instancePath, ip));
  }

  /** Follow local `$ref`s: Ajv reports errors of a referenced schema under the ref's path. */
  private target(schema: unknown, sp: string): [unknown, string] {
    let node = schema;
    let path = sp;
    for (let hops = 0; hops < 32 && isObject(node) && typeof node.$ref === 'string' && node.$ref.startsWith('#'); hops++) {
      path = node.$ref;
      node = resolvePointer(this.root, node.$ref.slice(1));
    }
    return [node, path];
  }

  /** Explain a failure of the subschema `schema` (at `sp`) for the value at `ip`, if it failed. */
  sub(schema: unknown, sp: string, ip: string): string | undefined {
    const [node, path] = this.target(schema, sp);
    if (!this.has(path, ip)) return undefined;
    return this.node(node, path, ip) ?? this.fallback(path, ip);
  }

  fallback(sp: string, ip: string): string {
    const e = this.errors.find((x) => under(x.schemaPath, sp) && under(x.instancePath, ip)) ?? this.errors[0];
    return e?.message ?? 'invalid value';
  }

  node(schema: unknown, sp: string, ip: string): string | undefined {
    if (schema === false) {
      return this.errors.some((e) => e.schemaPath === sp && e.instancePath === ip) ? 'expect false always' : undefined;
    }
    if (!isObject(schema)) return undefined;
    const value = resolvePointer(this.data, ip);

    if (this.at(sp, ip, 'type')) {
      const type = schema.type;
      return Array.isArray(type)
        ? `wrong type: expected one of ${type.join(', ')}, got ${luaType(value)}`
        : `wrong type: expected ${String(type)}, got ${luaType(value)}`;
    }
    return (
      (isObject(value) ? this.object(schema, sp, ip, value) : undefined) ??
      (Array.isArray(value) ? this.array(schema, sp, ip, value) : undefined) ??
      (typeof value === 'string' ? this.string(schema, sp, ip, value) : undefined) ??
      (typeof value === 'number' ? this.number(schema, sp, ip, value) : undefined) ??
      this.generic(schema, sp, ip, value)
    );
  }

  private object(schema: Schema, sp: string, ip: string, value: Schema): string | undefined {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
    const dependencies = isObject(schema.dependencies) ? schema.dependencies : {};

    for (const name of Object.keys(properties)) {
      const failed = this.sub(properties[name], `${sp}/properties/${fragment(name)}`, `${ip}/${pointer(name)}`);
      if (failed !== undefined) return `property ${luaQuote(name)} validation failed: ${failed}`;
      if (Object.hasOwn(value, name)) {
        const dep = this.dependency(dependencies, sp, ip, name);
        if (dep !== undefined) return dep;
      } else if (required.includes(name)) {
        const missing = this.missing(sp, ip, name);
        if (missing !== undefined) return missing;
      }
    }
    for (const name of required) {
      if (Object.hasOwn(properties, name)) continue;
      const missing = this.missing(sp, ip, name);
      if (missing !== undefined) return missing;
    }
    for (const name of Object.keys(dependencies)) {
      if (Object.hasOwn(properties, name) || !Object.hasOwn(value, name)) continue;
      const dep = this.dependency(dependencies, sp, ip, name);
      if (dep !== undefined) return dep;
    }

    const patterns = isObject(schema.patternProperties) ? Object.keys(schema.patternProperties) : [];
    const additional = schema.additionalProperties;
    if (patterns.length > 0 || (additional !== undefined && additional !== true)) {
      for (const key of Object.keys(value)) {
        const kip = `${ip}/${pointer(key)}`;
        for (const pattern of patterns) {
          const patternSchema = (schema.patternProperties as Schema)[pattern];
          const failed = this.sub(patternSchema, `${sp}/patternProperties/${fragment(pattern)}`, kip);
          if (failed !== undefined) return `failed to validate ${key} (matching ${luaQuote(pattern)}): ${failed}`;
        }
        if (additional === false) {
          const path = `${sp}/additionalProperties`;
          const found = this.errors.some(
            (e) => e.schemaPath === path && e.instancePath === ip && e.params.additionalProperty === key,
          );
          if (found) return `additional properties forbidden, found ${key}`;
        } else if (isObject(additional)) {
          const failed = this.sub(additional, `${sp}/additionalProperties`, kip);
          if (failed !== undefined) return `failed to validate additional property ${key}: ${failed}`;
        }
      }
    }

    if (this.at(sp, ip, 'minProperties')) return `expect object to have at least ${String(schema.minProperties)} properties`;
    if (this.at(sp, ip, 'maxProperties')) return `expect object to have at most ${String(schema.maxProperties)} properties`;
    return undefined;
  }

  private missing(sp: string, ip: string, name: string): string | undefined {
    const path = `${sp}/required`;
    const found = this.errors.some((e) => e.schemaPath === path && e.instancePath === ip && e.params.missingProperty === name);
    return found ? `property ${luaQuote(name)} is required` : undefined;
  }

  private dependency(dependencies: Schema, sp: string, ip: string, name: string): string | undefined {
    const dep = dependencies[name];
    if (Array.isArray(dep)) {
      const path = `${sp}/dependencies`;
      const e = this.errors.find((x) => x.schemaPath === path && x.instancePath === ip && x.params.property === name);
      return e ? `property ${luaQuote(String(e.params.missingProperty))} is required when ${luaQuote(name)} is set` : undefined;
    }
    if (dep === undefined) return undefined;
    const failed = this.sub(dep, `${sp}/dependencies/${fragment(name)}`, ip);
    return failed === undefined ? undefined : `failed to validate dependent schema for ${luaQuote(name)}: ${failed}`;
  }

  private array(schema: Schema, sp: string, ip: string, value: readonly unknown[]): string | undefined {
    if (this.at(sp, ip, 'minItems')) return `expect array to have at least ${String(schema.minItems)} items`;
    if (this.at(sp, ip, 'maxItems')) return `expect array to have at most ${String(schema.maxItems)} items`;
    const items = schema.items;
    if (Array.isArray(items)) {
      for (let i = 0; i < items.length && i < value.length; i++) {
        const failed = this.sub(items[i], `${sp}/items/${i}`, `${ip}/${i}`);
        if (failed !== undefined) return `failed to validate item ${i + 1}: ${failed}`;
      }
      if (this.at(sp, ip, 'additionalItems')) return 'found unexpected extra items in array';
      for (let i = items.length; i < value.length; i++) {
        const failed = this.sub(schema.additionalItems, `${sp}/additionalItems`, `${ip}/${i}`);
        if (failed !== undefined) return `failed to validate additional item ${i + 1}: ${failed}`;
      }
    } else if (items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const failed = this.sub(items, `${sp}/items`, `${ip}/${i}`);
        if (failed !== undefined) return `failed to validate item ${i + 1}: ${failed}`;
      }
    }
    if (this.at(sp, ip, 'uniqueItems')) {
      const [a, b] = duplicatePair(value) ?? [1, 2];
      return `expected unique items but items ${a} and ${b} are equal`;
    }
    return undefined;
  }

  private string(schema: Schema, sp: string, ip: string, value: string): string | undefined {
    // api7 counts UTF-8 characters, i.e. code points.
    if (this.at(sp, ip, 'minLength')) return `string too short, expected at least ${String(schema.minLength)}, got ${[...value].length}`;
    if (this.at(sp, ip, 'maxLength')) return `string too long, expected at most ${String(schema.maxLength)}, got ${[...value].length}`;
    if (this.at(sp, ip, 'pattern')) return `failed to match pattern ${luaQuote(String(schema.pattern))} with ${luaQuote(value)}`;
    return undefined;
  }

  private number(schema: Schema, sp: string, ip: string, value: number): string | undefined {
    for (const keyword of Object.keys(COMPARISONS)) {
      if (this.at(sp, ip, keyword)) {
        return `expected ${luaNumber(value)} to be ${COMPARISONS[keyword] as string} ${luaNumber(Number(schema[keyword]))}`;
      }
    }
    if (this.at(sp, ip, 'multipleOf')) return `expected ${luaNumber(value)} to be a multiple of ${luaNumber(Number(schema.multipleOf))}`;
    return undefined;
  }

  private generic(schema: Schema, sp: string, ip: string, value: unknown): string | undefined {
    if (this.at(sp, ip, 'enum')) return 'matches none of the enum values';
    if (Array.isArray(schema.allOf)) {
      for (let i = 0; i < schema.allOf.length; i++) {
        const failed = this.sub(schema.allOf[i], `${sp}/allOf/${i}`, ip);
        if (failed !== undefined) return `allOf ${i + 1} failed: ${failed}`;
      }
    }
    if (this.at(sp, ip, 'anyOf')) return `object matches none of the required${requiredSuffix(schema.anyOf)}`;
    const oneOf = this.at(sp, ip, 'oneOf');
    if (oneOf) {
      const passing = oneOf.params.passingSchemas as unknown;
      if (Array.isArray(passing) && passing.length >= 2) {
        return `value should match only one schema, but matches both schemas ${Number(passing[0]) + 1} and ${Number(passing[1]) + 1}`;
      }
      return 'value should match only one schema, but matches none';
    }
    const ifError = this.at(sp, ip, 'if');
    if (ifError) return ifError.params.failingKeyword === 'else' ? 'else clause did not match' : 'then clause did not match';
    if (this.at(sp, ip, 'not')) return "value wasn't supposed to match schema";
    if (this.at(sp, ip, 'format')) return formatMessage(schema.format, value) ?? this.fallback(sp, ip);
    if (this.at(sp, ip, 'const')) return 'failed to check const value';
    if (this.at(sp, ip, 'contains')) return 'failed to check contains';
    return undefined;
  }
}

/** api7 appends the `required` lists of the anyOf branches: `: ["active"] or ["active","passive"]`. */
function requiredSuffix(anyOf: unknown): string {
  if (!Array.isArray(anyOf)) return '';
  const lists = anyOf.filter((branch) => isObject(branch) && Array.isArray(branch.required)).map((branch) => JSON.stringify((branch as Schema).required));
  return lists.length > 0 ? `: ${lists.join(' or ')}` : '';
}

/**
 * The message api7/jsonschema returns for `data` failing `schema`, from the
 * errors of an Ajv run with `allErrors: true` (an `allErrors: false` run
 * works too, with Ajv's choice of the first failure).
 *
 * @example
 *   formatSchemaError(routeSchema, { uri: 1, upstream_id: 1 }, errors)
 *   // 'property "uri" validation failed: wrong type: expected string, got number'
 */
export function formatSchemaError(schema: unknown, data: unknown, errors: readonly ErrorObject[]): string {
  const explainer = new Explainer(schema, data, errors);
  return explainer.sub(schema, '#', '') ?? explainer.fallback('#', '');
}
