/**
 * Upstream checks beyond the schema (spec/admin-api.md §6.3; APISIX
 * `check_upstream_conf`), for `/upstreams` objects and inline `upstream`s of
 * routes and services, in APISIX's order.
 *
 * At write time a bare IPv6 node host is an error and map-form ports are
 * range-checked; when the gateway loads (`fillDefaults`) bare IPv6 hosts
 * are bracketed instead, as APISIX's data plane does, and ports are left to
 * the balancer; array nodes get their `priority` default there.
 */
import { isIPv6 } from 'node:net';
import { luaToNumber } from '../../util/lua-number.js';
import { luaNumber, luaToString } from '../lua-text.js';
import { hashHeaderKeySchema, hashVarsCombinationsKeySchema, hashVarsKeySchema } from '../schema/upstream.js';
import type { JsonObject } from '../types.js';
import { compileValidator, type SchemaValidator } from '../validator.js';
import { SSL_REF, type Needs, type ReferenceView } from './references.js';
import { validateCertAndKey } from './tls.js';

const keyValidators: ReadonlyMap<string, SchemaValidator> = new Map([
  ['vars', compileValidator(hashVarsKeySchema)],
  ['header', compileValidator(hashHeaderKeySchema)],
  ['cookie', compileValidator(hashHeaderKeySchema)],
  ['vars_combinations', compileValidator(hashVarsCombinationsKeySchema)],
]);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayNodes(nodes: unknown): JsonObject[] {
  return Array.isArray(nodes) ? nodes.filter(isObject) : [];
}

function isBareIpv6(host: unknown): host is string {
  return typeof host === 'string' && !host.startsWith('[') && isIPv6(host);
}

/**
 * The port of a map-form node key, as APISIX's `parse_addr` reads it:
 * `[v6]:port`, `host:port`; a bare IPv6 literal (two or more colons) has none.
 *
 * @example
 *   nodeKeyPort('127.0.0.1:8080'); // 8080
 *   nodeKeyPort('[::1]:0');        // 0
 *   nodeKeyPort('::1');            // undefined
 */
export function nodeKeyPort(address: string): number | undefined {
  let colon: number;
  if (address.startsWith('[')) {
    if (address.endsWith(']')) return undefined;
    colon = address.lastIndexOf(':', address.length - 2);
    if (colon <= 0 || address[colon - 1] !== ']') return undefined;
  } else {
    colon = address.lastIndexOf(':', address.length - 2);
    if (colon < 0 || address.indexOf(':') !== colon) return undefined;
  }
  return luaToNumber(address.slice(colon + 1));
}

function invalidMapPort(nodes: unknown): number | undefined {
  if (!isObject(nodes)) return undefined;
  for (const address of Object.keys(nodes)) {
    const port = nodeKeyPort(address);
    if (port !== undefined && (port < 1 || port > 65535)) return port;
  }
  return undefined;
}

function clientCertError(tls: JsonObject, refs: ReferenceView): string | undefined {
  if (tls.client_cert_id === undefined) return undefined;
  const got = refs.get(SSL_REF, tls.client_cert_id);
  if (!got) return undefined;
  if ('error' in got) return got.error;
  if (got.value.type !== 'client') return `failed to fetch ssl info by ssl id [${luaToString(tls.client_cert_id)}], wrong ssl type`;
  return undefined;
}

function chashKeyError(up: JsonObject): string | undefined {
  if (up.type !== 'chash') return undefined;
  const hashOn = up.hash_on;
  if (hashOn !== 'consumer' && up.key === undefined) return 'missing key';
  if (hashOn === 'consumer') return undefined;
  if (hashOn === undefined) return 'type is chash, err: hash_on is nil';
  const validate = keyValidators.get(String(hashOn));
  if (!validate) return `type is chash, err: invalid hash_on type ${String(hashOn)}`;
  const err = validate(up.key);
  return err === undefined ? undefined : `invalid configuration: ${err}`;
}

/** The store read an upstream's checks need: its client certificate's SSL object. */
export function upstreamNeeds(up: unknown): Needs {
  const tls = isObject(up) ? up.tls : undefined;
  return { references: [[SSL_REF, isObject(tls) ? tls.client_cert_id : undefined]] };
}

/** Where an upstream is checked: at write time (with reads) or at load. */
export interface UpstreamCheckEnv {
  readonly fillDefaults: boolean;
  readonly refs: ReferenceView;
}

/**
 * Check one upstream object. `schema` is given for `/upstreams` objects;
 * inline upstreams were already validated by their route's or service's
 * schema. Returns APISIX's message or undefined.
 *
 * @example
 *   checkUpstream({ nodes: [{ host: '::1', port: 80, weight: 1 }] }, env, validateUpstream);
 *   // "invalid configuration: IPv6 address must be enclosed with '[' and ']'"
 */
export function checkUpstream(up: JsonObject, env: UpstreamCheckEnv, schema?: SchemaValidator): string | undefined {
  const nodes = arrayNodes(up.nodes);
  if (env.fillDefaults) {
    if (schema) {
      const err = schema(up);
      if (err !== undefined) return `invalid configuration: ${err}`;
    }
    for (const node of nodes) {
      if (isBareIpv6(node.host)) node.host = `[${node.host}]`;
      // api7/jsonschema fills this default inside the nodes `anyOf`; Ajv never fills defaults under anyOf.
      node.priority ??= 0;
    }
  } else {
    if (nodes.some((node) => isBareIpv6(node.host))) return "invalid configuration: IPv6 address must be enclosed with '[' and ']'";
    if (schema) {
      const err = schema(up);
      if (err !== undefined) return `invalid configuration: ${err}`;
    }
    const port = invalidMapPort(up.nodes);
    if (port !== undefined) return `invalid port ${luaNumber(port)}`;
    if (isObject(up.tls)) {
      const err = clientCertError(up.tls, env.refs);
      if (err !== undefined) return err;
    }
  }

  if (up.pass_host === 'rewrite' && (up.upstream_host === undefined || up.upstream_host === '')) {
    return '`upstream_host` can\'t be empty when `pass_host` is `rewrite`';
  }
  if (isObject(up.tls) && typeof up.tls.client_cert === 'string') {
    const key = typeof up.tls.client_key === 'string' ? up.tls.client_key : undefined;
    const err = validateCertAndKey(up.tls.client_cert, key, env.fillDefaults);
    if (err !== undefined) return err;
  }
  return chashKeyError(up);
}
