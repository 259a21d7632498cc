/**
 * Checks the merged config document against CONFIG_SCHEMA and turns Ajv's
 * findings into messages that name the key path the way it is written in
 * config.yaml (`deployment.admin.admin_key[0].role: must be one of admin,
 * viewer (got "root")`). Also lists the keys fngate ignores.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isValidIpOrCidr } from '../router/ip.js';
import type { ConfigIssue } from './errors.js';
import { formatKeyPath, type PathSegment } from './key-path.js';
import { isRawObject, type RawObject, type RawValue } from './raw.js';
import { CONFIG_SCHEMA, MOVED_KEYS, type Schema } from './schema.js';
import { closestName } from './suggest.js';

export interface ValidationResult {
  /** Schema violations; empty when the document is valid. */
  readonly issues: readonly ConfigIssue[];
  /** Paths of keys APISIX knows that fngate does not act on, in document order. */
  readonly ignored: readonly string[];
}

const FORMAT_WORDING: Readonly<Record<string, string>> = {
  'ip-address': 'an IP address',
  'ip-or-cidr': 'an IP address or CIDR block',
  'real-ip-source': 'an IP address, CIDR block or "unix:"',
  'keyring-key': 'a key of exactly 16 or 32 bytes',
};

let compiled: ValidateFunction | undefined;

/** The schema is compiled once per process, on first use. */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'x-ignored', schemaType: 'boolean' });
  ajv.addKeyword({ keyword: 'x-expect', schemaType: 'string' });
  // The router's parser, so that an allow-list the config accepts is one the router can compile.
  ajv.addFormat('ip-or-cidr', { type: 'string', validate: isValidIpOrCidr });
  ajv.addFormat('ip-address', { type: 'string', validate: (text: string) => !text.includes('/') && isValidIpOrCidr(stripBrackets(text)) });
  ajv.addFormat('real-ip-source', { type: 'string', validate: (text: string) => text === 'unix:' || isValidIpOrCidr(text) });
  ajv.addFormat('keyring-key', {
    type: 'string',
    validate: (text: string) => [16, 32].includes(Buffer.byteLength(text)),
  });
  compiled = ajv.compile(CONFIG_SCHEMA);
  return compiled;
}

/** `[::1]` is how IPv6 listen addresses are often written (nginx style). */
export function stripBrackets(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

/**
 * Validate a merged document (defaults + user file).
 *
 * @example
 *   const { issues, ignored } = validateDocument(doc);
 *   // issues: [{ path: 'apisix.node_listen', message: 'must be a port number (1-65535) ... (got "x")' }]
 *   // ignored: ['apisix.ssl']
 */
export function validateDocument(document: RawObject): ValidationResult {
  const validate = validator();
  const issues: ConfigIssue[] = [];
  if (!validate(document)) {
    const seen = new Set<string>();
    for (const error of validate.errors ?? []) {
      const issue = describeError(error, document);
      if (issue === undefined) continue;
      const text = `${issue.path ?? ''}\0${issue.message}`;
      if (seen.has(text)) continue;
      seen.add(text);
      issues.push(issue);
    }
  }
  const ignored: string[] = [];
  collectIgnored(CONFIG_SCHEMA, document, [], ignored);
  return { issues, ignored };
}

function describeError(error: ErrorObject, document: RawObject): ConfigIssue | undefined {
  const segments = pathSegments(error.instancePath, document);
  const parent = (error.parentSchema ?? {}) as Schema;
  const expect = typeof parent['x-expect'] === 'string' ? parent['x-expect'] : undefined;
  const got = ` (got ${describeValue(error.data as RawValue)})`;
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const keyPath = formatKeyPath([...segments, key]);
      return { path: keyPath, message: unknownKeyMessage(keyPath, key, parent) };
    }
    case 'required':
      return { path: formatKeyPath([...segments, String(params.missingProperty)]), message: 'is required' };
    case 'enum':
      return {
        path: formatKeyPath(segments),
        message: `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}${got}`,
      };
    case 'type':
      return { path: formatKeyPath(segments), message: `must be ${expect ?? typeWording(params.type)}${got}` };
    case 'format':
      return {
        path: formatKeyPath(segments),
        message: `must be ${expect ?? FORMAT_WORDING[String(params.format)] ?? `in ${String(params.format)} format`}${got}`,
      };
    case 'minimum':
    case 'maximum':
    case 'pattern':
      return { path: formatKeyPath(segments), message: `${expect ? `must be ${expect}` : (error.message ?? 'is invalid')}${got}` };
    case 'minLength':
      return { path: formatKeyPath(segments), message: 'must not be empty' };
    case 'minItems':
      return { path: formatKeyPath(segments), message: `must list at least ${String(params.limit)} item(s)` };
    case 'uniqueItems':
      return { path: formatKeyPath(segments), message: `must not list the same item twice${got}` };
    default:
      return { path: formatKeyPath(segments), message: error.message ?? 'is invalid' };
  }
}

function unknownKeyMessage(keyPath: string, key: string, parent: Schema): string {
  const moved = MOVED_KEYS[keyPath];
  if (moved !== undefined) return `unknown key; in APISIX 3 this setting is ${moved}`;
  const known = Object.keys((parent.properties ?? {}) as Record<string, Schema>);
  const suggestion = closestName(key, known);
  return suggestion === undefined ? 'unknown key' : `unknown key; did you mean "${suggestion}"?`;
}

function typeWording(type: unknown): string {
  const names = Array.isArray(type) ? type : [type];
  const words: Record<string, string> = {
    integer: 'a whole number',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
  };
  return names.map((name) => words[String(name)] ?? String(name)).join(' or ');
}

function describeValue(value: RawValue | undefined): string {
  if (Array.isArray(value)) return 'a list';
  if (isRawObject(value)) return 'a mapping';
  return JSON.stringify(value) ?? 'nothing';
}

/** Ajv's JSON pointer back to keys and indexes (array positions become numbers). */
function pathSegments(pointer: string, document: RawObject): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node: RawValue | undefined = document;
  for (const escaped of pointer.slice(1).split('/')) {
    const key = escaped.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      segments.push(index);
      node = node[index];
    } else {
      segments.push(key);
      node = isRawObject(node) ? node[key] : undefined;
    }
  }
  return segments;
}

/** Walk the document along the schema and note every value under an `x-ignored` key. */
function collectIgnored(schema: Schema, value: RawValue, path: PathSegment[], out: string[]): void {
  if (schema['x-ignored'] === true) {
    out.push(formatKeyPath(path));
    return;
  }
  if (isRawObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const additional = isRawObject(schema.additionalProperties as RawValue) ? (schema.additionalProperties as Schema) : undefined;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = Object.hasOwn(properties, key) ? properties[key] : additional;
      if (childSchema !== undefined) collectIgnored(childSchema, child, [...path, key], out);
    }
  } else if (Array.isArray(value) && isRawObject(schema.items as RawValue)) {
    const items = schema.items as Schema;
    value.forEach((item, index) => collectIgnored(items, item, [...path, index], out));
  }
}
