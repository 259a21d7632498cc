/** The `ssl` schema (spec/admin-api.md §6.9). */
import type { JsonObject } from '../types.js';
import { certificateDef, descDef, hostPattern, idSchema, labelsDef, privateKeyDef, timestampDef } from './common.js';

export const sslSchema: JsonObject = {
  type: 'object',
  properties: {
    id: idSchema,
    desc: descDef,
    labels: labelsDef,
    create_time: timestampDef,
    update_time: timestampDef,
    type: {
      description: 'server: certificate served to clients; client: certificate for upstream mTLS',
      type: 'string',
      default: 'server',
      enum: ['server', 'client'],
    },
    cert: certificateDef,
    key: privateKeyDef,
    sni: { type: 'string', pattern: hostPattern },
    snis: { type: 'array', items: { type: 'string', pattern: hostPattern }, minItems: 1 },
    certs: { type: 'array', items: certificateDef },
    keys: { type: 'array', items: privateKeyDef },
    client: {
      type: 'object',
      properties: {
        ca: certificateDef,
        depth: { type: 'integer', minimum: 0, default: 1 },
        skip_mtls_uri_regex: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { description: 'uri regular expression to skip mtls', type: 'string' },
        },
      },
      required: ['ca'],
    },
    status: { description: 'ssl status, 1 to enable, 0 to disable', type: 'integer', enum: [1, 0], default: 1 },
    ssl_protocols: {
      description: 'set ssl protocols',
      type: 'array',
      maxItems: 3,
      uniqueItems: true,
      items: { enum: ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'] },
    },
  },
  // Server certificates need an SNI; client certificates (upstream mTLS) do not.
  if: { properties: { type: { enum: ['server'] } } },
  then: { oneOf: [{ required: ['sni', 'key', 'cert'] }, { required: ['snis', 'key', 'cert'] }] },
  else: { required: ['key', 'cert'] },
  additionalProperties: false,
};
