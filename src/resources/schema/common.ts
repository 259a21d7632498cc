/**
 * Schema fragments shared by the resource kinds. Field names, types, limits
 * and patterns are APISIX's (`apisix/schema_def.lua`, 3.18); patterns keep
 * APISIX's exact text because it appears in error messages.
 */
import type { JsonObject } from '../types.js';

/** Ids: string `^[a-zA-Z0-9-_.]+$` of 1–64 characters, or integer ≥ 1 (spec/admin-api.md §5.1). */
export const idSchema: JsonObject = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9-_.]+$' },
    { type: 'integer', minimum: 1 },
  ],
};

/** Host names and wildcards (`*`, `*.a.com`), also bracketed IPv6 with port. */
export const hostPattern = '^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$';
export const hostDef: JsonObject = { type: 'string', pattern: hostPattern };

const ipv4Segment = '([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])';
const ipv4 = [ipv4Segment, ipv4Segment, ipv4Segment, ipv4Segment].join('\\.');
// Loose on purpose, as in APISIX: a precise IPv6 CIDR regex is unreadable; the router rejects the rest.
const ipv6 = '([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?';

/** IPv4, IPv4 CIDR, IPv6, IPv6 CIDR. */
export const ipDef: JsonObject[] = [
  { title: 'IPv4', type: 'string', format: 'ipv4' },
  { title: 'IPv4/CIDR', type: 'string', pattern: `^${ipv4}/([12]?[0-9]|3[0-2])$` },
  { title: 'IPv6', type: 'string', format: 'ipv6' },
  { title: 'IPv6/CIDR', type: 'string', pattern: `^${ipv6}/[0-9]{1,3}$` },
];

export const remoteAddrDef: JsonObject = { description: 'client IP', type: 'string', anyOf: ipDef };

export const timestampDef: JsonObject = { type: 'integer' };

export const labelValueDef: JsonObject = {
  description: 'value of label',
  type: 'string',
  pattern: '^\\S+$',
  maxLength: 256,
  minLength: 1,
};

export const labelsDef: JsonObject = {
  description: 'key/value pairs to specify attributes',
  type: 'object',
  patternProperties: { '.*': labelValueDef },
};

export const nameDef: JsonObject = { type: 'string', maxLength: 256, minLength: 1 };

export const descDef: JsonObject = { type: 'string', maxLength: 256 };

/** Seconds; all three required (a route's `timeout` replaces the upstream's whole object). */
export const timeoutDef: JsonObject = {
  type: 'object',
  properties: {
    connect: { type: 'number', exclusiveMinimum: 0 },
    send: { type: 'number', exclusiveMinimum: 0 },
    read: { type: 'number', exclusiveMinimum: 0 },
  },
  required: ['connect', 'send', 'read'],
};

/** `plugins` objects: each plugin's own schema is checked by the plugin catalog. */
export const pluginsDef: JsonObject = { type: 'object' };

export const httpMethods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PURGE'];

export const methodSchema: JsonObject = { description: 'HTTP method', type: 'string', enum: httpMethods };

/** PEM certificate strings (spec/admin-api.md §6.9). */
export const certificateDef: JsonObject = { type: 'string', minLength: 128, maxLength: 64 * 1024 };

/** PEM private keys, or their stored AES ciphertext. */
export const privateKeyDef: JsonObject = { type: 'string', minLength: 64, maxLength: 64 * 1024 };

/** The dashboard's orchestration script: accepted by the schema, refused by the checkers (not supported). */
export const scriptDef: JsonObject = { type: 'string', minLength: 10, maxLength: 102400 };

/** The metadata fields every resource carries. */
export function metadataProperties(): JsonObject {
  return {
    id: idSchema,
    name: nameDef,
    desc: descDef,
    labels: labelsDef,
    create_time: timestampDef,
    update_time: timestampDef,
  };
}
