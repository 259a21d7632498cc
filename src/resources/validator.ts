/**
 * JSON-schema validation with APISIX's semantics and messages.
 *
 * Design (spec/plugins.md §8.1, spec/admin-api.md §5.4 and §6.10):
 * - api7/jsonschema injects `default`s while it validates, and APISIX's
 *   checks after the schema rely on them (e.g. an upstream's `hash_on`
 *   defaults to `vars` before the chash key is checked). So there is one
 *   compiled variant per schema, with Ajv's `useDefaults`: the gateway
 *   loader validates the live object (defaults stay), the Admin API
 *   validates a deep copy (defaults are dropped with the copy, never stored).
 * - The hot check is Ajv with `allErrors: false`. Only when it fails, a
 *   second validator for the same schema (`allErrors: true`, compiled on the
 *   first failure) collects every error so that `formatSchemaError` can pick
 *   the one api7/jsonschema reports first.
 * - Formats are api7/jsonschema's: `ipv4`/`ipv6` as `inet_pton` accepts
 *   them, its `email` and `hostname` patterns; every other format name is
 *   accepted unchecked, as APISIX does (ajv-formats would reject values
 *   APISIX stores happily, so it is not used).
 * - Patterns are compiled without the `u` flag: APISIX's are PCRE, and the
 *   non-unicode JS dialect accepts more of them (`\-`, `\_` escapes).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Ajv, type AnySchema, type Options, type ValidateFunction } from 'ajv';
import { FngateError, errorMessage } from '../errors.js';
import { formatSchemaError } from './schema-error.js';

export { formatSchemaError };

/** A schema could not be compiled (a bug in a built-in or plugin schema). */
export class SchemaCompileError extends FngateError {
  readonly code = 'SCHEMA_INVALID';
}

/** Returns api7/jsonschema's message for an invalid value, or undefined; fills defaults into `value`. */
export type SchemaValidator = (value: unknown) => string | undefined;

const EMAIL = /^([A-Za-z0-9_\-.])+@([A-Za-z0-9_\-.])+\.([A-Za-z]{2,4})$/;
const HOSTNAME = /^[a-zA-Z0-9\-.]+$/;

/** Format names Ajv knows from ajv-formats; accepted without checks, like api7/jsonschema does. */
const UNCHECKED_FORMATS = [
  'date', 'time', 'date-time', 'iso-time', 'iso-date-time', 'duration', 'uri', 'uri-reference',
  'uri-template', 'url', 'idn-email', 'idn-hostname', 'iri', 'iri-reference', 'regex', 'uuid',
  'json-pointer', 'json-pointer-uri-fragment', 'relative-json-pointer', 'byte', 'int32', 'int64',
  'float', 'double', 'password', 'binary',
];

function createAjv(options: Options): Ajv {
  const ajv = new Ajv({
    strict: false,
    unicodeRegExp: false,
    // Unknown format names are ignored (api7 behaviour); the warning Ajv would log is noise.
    logger: false,
    ...options,
  });
  ajv.addFormat('ipv4', { type: 'string', validate: (s: string) => isIPv4(s) });
  ajv.addFormat('ipv6', { type: 'string', validate: (s: string) => isIPv6(s) });
  ajv.addFormat('email', { type: 'string', validate: (s: string) => EMAIL.test(s) });
  ajv.addFormat('hostname', { type: 'string', validate: (s: string) => HOSTNAME.test(s) });
  for (const name of UNCHECKED_FORMATS) ajv.addFormat(name, true);
  return ajv;
}

/** Decides validity and fills defaults (the path every write and load takes). */
const checking = createAjv({ allErrors: false, useDefaults: true });
/** Collects all errors of a value already known to be invalid, for the message only. */
const explaining = createAjv({ allErrors: true, useDefaults: false });

function compileWith(ajv: Ajv, schema: AnySchema): ValidateFunction {
  try {
    return ajv.compile(schema);
  } catch (err) {
    throw new SchemaCompileError(`invalid schema: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Compile `schema` once and return a validator that reports APISIX's message
 * for an invalid value. The validator writes schema defaults into the value
 * it checks: pass a copy when the caller must not see them (Admin writes).
 * Unlike api7/jsonschema, Ajv fills no defaults inside `anyOf`/`oneOf`/`not`
 * branches: fill those in code where they matter.
 * Throws {@link SchemaCompileError} for an invalid schema.
 *
 * @example
 *   const check = compileValidator({ type: 'object', properties: { uri: { type: 'string' } } });
 *   check({ uri: 1 }); // 'property "uri" validation failed: wrong type: expected string, got number'
 *   check({ uri: '/a' }); // undefined
 */
export function compileValidator(schema: object): SchemaValidator {
  const validate = compileWith(checking, schema);
  let explain: ValidateFunction | undefined;
  return (value) => {
    if (validate(value)) return undefined;
    explain ??= compileWith(explaining, schema);
    explain(value);
    return formatSchemaError(schema, value, explain.errors ?? validate.errors ?? []);
  };
}
