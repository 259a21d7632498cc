/**
 * real-ip (APISIX `apisix/plugins/real-ip.lua`, priority 23000, rewrite):
 * replace the client address (`$remote_addr`, and `$remote_port` when the
 * value carries a port) by one taken from a request variable, like nginx's
 * realip module but per route.
 *
 * - `source`: any variable (`arg_realip`, `http_x_real_ip`, ...). For
 *   `http_x_forwarded_for` the last address of the list is taken, or with
 *   `recursive` the last one that is not in `trusted_addresses` (walking
 *   from the right, the first entry when all are trusted).
 * - `trusted_addresses`: only requests whose current `$remote_addr` is in
 *   the list are changed.
 *
 * The new address is what every later step sees: plugins reading
 * `$remote_addr`, and the X-Real-IP / X-Forwarded-For sent upstream (see
 * `RequestContext.setVar`). A missing or malformed value leaves the
 * address alone (logged at warn level), as in APISIX.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { definePlugin } from '../pdk/plugin.js';
import { compileIpMatcher, isValidIpOrCidr, type IpMatcher } from '../router/ip.js';
import { ipDef } from '../resources/schema/common.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface RealIpConf {
  readonly source: string;
  readonly trusted_addresses?: readonly string[];
  readonly recursive: boolean;
}

/** A client address read from a variable. */
export interface ClientAddress {
  readonly ip: string;
  readonly port?: number;
}

const DIGITS = /^[0-9]+$/;

/**
 * Parse `ip`, `ip:port`, `[ipv6]`, `[ipv6]:port` or a bare IPv6 address;
 * undefined when it is none of these or the port is outside 1..65535.
 *
 * @example
 *   parseClientAddress('1.2.3.4:9080') // { ip: '1.2.3.4', port: 9080 }
 *   parseClientAddress('[::1]')        // { ip: '::1' }
 *   parseClientAddress('example.com')  // undefined
 */
export function parseClientAddress(text: string): ClientAddress | undefined {
  let ip: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return undefined;
    ip = text.slice(1, close);
    if (!isIPv6(ip)) return undefined;
    if (close !== text.length - 1) {
      if (text[close + 1] !== ':') return undefined;
      portText = text.slice(close + 2);
    }
  } else if (isIPv6(text)) {
    // APISIX only takes IPv6 in brackets; X-Forwarded-For carries it bare (RFC 7239 §6 aside).
    ip = text;
  } else {
    const colon = text.lastIndexOf(':');
    ip = colon === -1 ? text : text.slice(0, colon);
    if (colon !== -1) portText = text.slice(colon + 1);
    if (!isIPv4(ip)) return undefined;
  }
  if (portText === undefined) return { ip };
  if (!DIGITS.test(portText)) return undefined;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { ip, port } : undefined;
}

/** X-Forwarded-For entries, from the left: `client, proxy1, proxy2`. */
const LIST_SEPARATOR = /,\s*/;

/** The last address of an X-Forwarded-For value (spaces after the comma skipped). */
function lastListed(list: string): string {
  const comma = list.lastIndexOf(',');
  return comma === -1 ? list : list.slice(comma + 1).trimStart();
}

/** From the right, the first address not in `trusted`; the leftmost when all are trusted. */
function lastUntrusted(list: string, trusted: IpMatcher): string {
  const entries = list.split(LIST_SEPARATOR);
  for (let i = entries.length - 1; i > 0; i--) {
    const entry = entries[i] as string;
    if (!trusted(entry)) return entry;
  }
  return entries[0] as string;
}

interface Compiled {
  readonly trusted: IpMatcher | undefined;
  readonly forwardedFor: boolean;
  readonly recursive: boolean;
}

const compiled = compiledPerConf((conf: RealIpConf): Compiled => {
  return {
    trusted: conf.trusted_addresses === undefined ? undefined : compileIpMatcher(conf.trusted_addresses),
    forwardedFor: conf.source === 'http_x_forwarded_for',
    recursive: conf.recursive,
  };
});

/**
 * @example
 *   // route plugins: { "real-ip": { "source": "http_x_forwarded_for", "trusted_addresses": ["10.0.0.0/8"], "recursive": true } }
 *   // from 10.0.0.2 with X-Forwarded-For: 203.0.113.7, 10.0.0.9 → $remote_addr = 203.0.113.7
 */
export default definePlugin<RealIpConf>({
  name: 'real-ip',
  version: '0.1',
  priority: 23000,
  schema: {
    type: 'object',
    properties: {
      trusted_addresses: { type: 'array', items: { anyOf: ipDef }, minItems: 1 },
      source: { type: 'string', minLength: 1 },
      recursive: { type: 'boolean', default: false },
    },
    required: ['source'],
  },

  check(conf) {
    // The schema's IPv6 patterns are loose (as APISIX's are); every entry must really parse.
    for (const entry of conf.trusted_addresses ?? []) {
      if (!isValidIpOrCidr(entry)) return `invalid ip address: ${entry}`;
    }
    return undefined;
  },

  rewrite(conf, ctx) {
    const c = compiled(conf);
    if (c.trusted !== undefined) {
      const peer = ctx.var.remote_addr;
      if (typeof peer !== 'string' || !c.trusted(peer)) return undefined;
    }

    let value: unknown;
    if (c.forwardedFor) {
      const list = ctx.request.header('x-forwarded-for');
      if (list !== undefined) value = c.recursive && c.trusted !== undefined ? lastUntrusted(list, c.trusted) : lastListed(list);
    } else {
      value = ctx.var[conf.source];
    }
    if (typeof value !== 'string') {
      ctx.log.warn('missing real address');
      return undefined;
    }

    const address = parseClientAddress(value);
    if (address === undefined) {
      ctx.log.warn(`bad address: ${value}`);
      return undefined;
    }
    ctx.var.remote_addr = address.ip;
    if (address.port !== undefined) ctx.var.remote_port = address.port;
    return undefined;
  },
});
