/** The `route` schema (spec/routing.md §1). */
import type { JsonObject } from '../types.js';
import {
  hostDef, idSchema, metadataProperties, methodSchema, pluginsDef, remoteAddrDef, scriptDef, timeoutDef,
} from './common.js';
import { upstreamSchema } from './upstream.js';

/** `{"not": anyOf(a, b)}` or exactly one of them: at most one of two alternative fields. */
function atMostOneOf(a: string, b: string): JsonObject {
  return {
    oneOf: [
      { not: { anyOf: [{ required: [a] }, { required: [b] }] } },
      { required: [a] },
      { required: [b] },
    ],
  };
}

/** A route needs something to do besides matching: plugins, an upstream, a service or a script. */
const actionAlternatives = ['plugins', 'upstream', 'upstream_id', 'service_id'];

export const routeSchema: JsonObject = {
  type: 'object',
  properties: {
    ...metadataProperties(),
    uri: { type: 'string', minLength: 1, maxLength: 4096 },
    uris: {
      type: 'array',
      items: { description: 'HTTP uri', type: 'string' },
      minItems: 1,
      uniqueItems: true,
    },
    priority: { type: 'integer', default: 0 },
    methods: { type: 'array', items: methodSchema, uniqueItems: true },
    host: hostDef,
    hosts: { type: 'array', items: hostDef, minItems: 1, uniqueItems: true },
    remote_addr: remoteAddrDef,
    remote_addrs: { type: 'array', items: remoteAddrDef, minItems: 1, uniqueItems: true },
    timeout: timeoutDef,
    vars: { type: 'array' },
    // fngate: JavaScript source `function (vars) { ... }` (APISIX: Lua).
    filter_func: { type: 'string', minLength: 10, pattern: '^function' },
    script: scriptDef,
    script_id: idSchema,
    plugins: pluginsDef,
    plugin_config_id: idSchema,
    upstream: upstreamSchema,
    service_id: idSchema,
    upstream_id: idSchema,
    enable_websocket: { description: 'enable websocket for request', type: 'boolean' },
    status: { description: 'route status, 1 to enable, 0 to disable', type: 'integer', enum: [1, 0], default: 1 },
  },
  // Without uri/uris: `allOf 1 failed: value should match only one schema, but matches none`.
  allOf: [
    { oneOf: [{ required: ['uri'] }, { required: ['uris'] }] },
    atMostOneOf('host', 'hosts'),
    atMostOneOf('remote_addr', 'remote_addrs'),
  ],
  anyOf: [
    ...['uri', 'uris'].flatMap((path) => actionAlternatives.map((action) => ({ required: [action, path] }))),
    { required: ['script', 'uri'] },
    { required: ['script', 'uris'] },
  ],
  not: { anyOf: [{ required: ['script', 'plugins'] }, { required: ['script', 'plugin_config_id'] }] },
  additionalProperties: false,
};
