/**
 * The `upstream` schema (spec/routing.md §5), used for `/upstreams` and for
 * inline `upstream` objects of routes and services.
 */
import type { JsonObject } from '../types.js';
import {
  certificateDef, hostDef, httpMethods, idSchema, metadataProperties, privateKeyDef, timeoutDef,
} from './common.js';

const statusList = (defaults: number[]): JsonObject => ({
  type: 'array',
  minItems: 1,
  items: { type: 'integer', minimum: 200, maximum: 599 },
  uniqueItems: true,
  default: defaults,
});

const counter = (min: number, defaultValue: number): JsonObject => ({
  type: 'integer',
  minimum: min,
  maximum: 254,
  default: defaultValue,
});

const checkType: JsonObject = { type: 'string', enum: ['http', 'https', 'tcp'], default: 'http' };

/** Active probes (spec/routing.md §5.3). */
export const activeHealthCheckDef: JsonObject = {
  type: 'object',
  properties: {
    type: checkType,
    timeout: { type: 'number', default: 1 },
    concurrency: { type: 'integer', default: 10 },
    host: hostDef,
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    http_method: { type: 'string', enum: httpMethods, default: 'GET' },
    http_path: { type: 'string', default: '/' },
    http_req_body: { type: 'string', default: '' },
    https_verify_certificate: { type: 'boolean', default: true },
    healthy: {
      type: 'object',
      properties: {
        interval: { type: 'integer', minimum: 1, default: 1 },
        http_statuses: statusList([200, 302]),
        successes: counter(1, 2),
      },
    },
    unhealthy: {
      type: 'object',
      properties: {
        interval: { type: 'integer', minimum: 1, default: 1 },
        http_statuses: statusList([429, 404, 500, 501, 502, 503, 504, 505]),
        http_failures: counter(1, 5),
        tcp_failures: counter(1, 2),
        timeouts: counter(1, 3),
      },
    },
    req_headers: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', uniqueItems: true },
    },
  },
};

/** Passive checks from real traffic. */
export const passiveHealthCheckDef: JsonObject = {
  type: 'object',
  properties: {
    type: checkType,
    healthy: {
      type: 'object',
      properties: {
        http_statuses: statusList([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308]),
        successes: counter(0, 5),
      },
    },
    unhealthy: {
      type: 'object',
      properties: {
        http_statuses: statusList([429, 500, 503]),
        tcp_failures: counter(0, 2),
        timeouts: counter(0, 7),
        http_failures: counter(0, 5),
      },
    },
  },
};

/** `passive` alone is refused: `object matches none of the required: ["active"] or ["active","passive"]`. */
export const healthCheckDef: JsonObject = {
  type: 'object',
  properties: { active: activeHealthCheckDef, passive: passiveHealthCheckDef },
  anyOf: [{ required: ['active'] }, { required: ['active', 'passive'] }],
};

/** `{"host:port": weight}` or `[{host, port?, weight, priority?, metadata?}]`. */
export const nodesDef: JsonObject = {
  anyOf: [
    {
      type: 'object',
      patternProperties: { '.*': { description: 'weight of node', type: 'integer', minimum: 0 } },
    },
    {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          host: hostDef,
          port: { description: 'port of node', type: 'integer', minimum: 1, maximum: 65535 },
          weight: { description: 'weight of node', type: 'integer', minimum: 0 },
          priority: { description: 'priority of node', type: 'integer', default: 0 },
          metadata: { description: 'metadata of node', type: 'object' },
        },
        required: ['host', 'weight'],
      },
    },
  ],
};

export const upstreamSchema: JsonObject = {
  type: 'object',
  properties: {
    ...metadataProperties(),
    nodes: nodesDef,
    retries: { type: 'integer', minimum: 0 },
    retry_timeout: { type: 'number', minimum: 0 },
    timeout: timeoutDef,
    tls: {
      type: 'object',
      properties: {
        client_cert_id: idSchema,
        client_cert: certificateDef,
        client_key: privateKeyDef,
        verify: { type: 'boolean', description: 'verify the upstream certificate (kafka upstreams only)' },
      },
      dependencies: {
        client_cert: { required: ['client_key'] },
        client_key: { required: ['client_cert'] },
        client_cert_id: { not: { required: ['client_cert', 'client_key'] } },
      },
    },
    keepalive_pool: {
      type: 'object',
      properties: {
        size: { type: 'integer', default: 320, minimum: 1 },
        idle_timeout: { type: 'number', default: 60, minimum: 0 },
        requests: { type: 'integer', default: 1000, minimum: 1 },
      },
    },
    // No enum: APISIX loads `apisix/balancer/<type>.lua` for any name; unknown types fail at request time.
    type: { description: 'algorithms of load balancing', type: 'string', default: 'roundrobin' },
    checks: healthCheckDef,
    hash_on: {
      type: 'string',
      default: 'vars',
      enum: ['vars', 'header', 'cookie', 'consumer', 'vars_combinations'],
    },
    key: { description: 'the key of chash for dynamic load balancing', type: 'string' },
    scheme: { default: 'http', enum: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'udp', 'kafka'] },
    discovery_type: { description: 'discovery type', type: 'string' },
    discovery_args: {
      type: 'object',
      properties: {
        namespace_id: { description: 'namespace id', type: 'string' },
        group_name: { description: 'group name', type: 'string' },
      },
    },
    pass_host: { description: 'mod of host passing', type: 'string', enum: ['pass', 'node', 'rewrite'], default: 'pass' },
    upstream_host: hostDef,
    service_name: { type: 'string', maxLength: 256, minLength: 1 },
  },
  oneOf: [{ required: ['nodes'] }, { required: ['service_name', 'discovery_type'] }],
  additionalProperties: false,
};

/** chash `key` when `hash_on` is `vars` (nginx variables the balancer can read). */
export const hashVarsKeySchema: JsonObject = {
  type: 'string',
  pattern:
    '^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$',
};

/** chash `key` when `hash_on` is `header` or `cookie`. */
export const hashHeaderKeySchema: JsonObject = { type: 'string', pattern: '^[a-zA-Z0-9-_]+$' };

/** chash `key` when `hash_on` is `vars_combinations` (`$host$uri`...). */
export const hashVarsCombinationsKeySchema: JsonObject = { type: 'string' };
