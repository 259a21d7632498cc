/**
 * Parsing of an upstream's `nodes` (spec/routing.md §5): the map form
 * `{"host:port": weight}` and the array form `[{host, port?, weight,
 * priority?, metadata?}]` both become one list of node specs. A node without
 * a port gets the scheme's default; IPv6 literals stay bracketed so they can
 * be used verbatim in origins and Host headers.
 */
import { UpstreamConfigError } from './errors.js';
import type { UpstreamConf, UpstreamNodeConf, UpstreamScheme } from './types.js';

export interface NodeSpec {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly priority: number;
  readonly metadata: unknown;
}

/** 80 for http, 443 for https. */
export function defaultPort(scheme: UpstreamScheme): number {
  return scheme === 'https' ? 443 : 80;
}

/**
 * Normalise `conf.nodes` to node specs, in configuration order.
 *
 * @example
 *   parseNodes({ '127.0.0.1:1980': 1, '[::1]': 2 }, 'http')
 *   // [{ host: '127.0.0.1', port: 1980, weight: 1, priority: 0 }, { host: '[::1]', port: 80, weight: 2, priority: 0 }]
 * @throws UpstreamConfigError for a malformed address, port or weight
 */
export function parseNodes(nodes: UpstreamConf['nodes'], scheme: UpstreamScheme): NodeSpec[] {
  if (nodes === undefined || nodes === null) return [];
  const fallbackPort = defaultPort(scheme);
  if (Array.isArray(nodes)) {
    return (nodes as readonly UpstreamNodeConf[]).map((n) => ({
      host: checkHost(n.host),
      port: n.port === undefined ? fallbackPort : checkPort(n.port, n.host),
      weight: checkWeight(n.weight, n.host),
      priority: n.priority ?? 0,
      metadata: n.metadata,
    }));
  }
  const specs: NodeSpec[] = [];
  for (const [address, weight] of Object.entries(nodes as Readonly<Record<string, number>>)) {
    const { host, port } = splitAddress(address);
    specs.push({
      host,
      port: port === undefined ? fallbackPort : port,
      weight: checkWeight(weight, address),
      priority: 0,
      metadata: undefined,
    });
  }
  return specs;
}

/**
 * Split `host[:port]`, with IPv6 in brackets (`[::1]:8080`).
 *
 * @example splitAddress('[::1]:8080') // { host: '[::1]', port: 8080 }
 */
export function splitAddress(address: string): { host: string; port: number | undefined } {
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0) throw new UpstreamConfigError(`invalid node address "${address}"`);
    const host = address.slice(0, close + 1);
    const rest = address.slice(close + 1);
    if (rest === '') return { host, port: undefined };
    if (!rest.startsWith(':')) throw new UpstreamConfigError(`invalid node address "${address}"`);
    return { host, port: checkPort(Number(rest.slice(1)), address) };
  }
  const colon = address.lastIndexOf(':');
  if (colon < 0) return { host: checkHost(address), port: undefined };
  if (address.indexOf(':') !== colon) {
    // Two or more colons without brackets: an IPv6 literal, which must be bracketed (spec §5).
    throw new UpstreamConfigError(`IPv6 node address must be bracketed: "${address}"`);
  }
  return { host: checkHost(address.slice(0, colon)), port: checkPort(Number(address.slice(colon + 1)), address) };
}

function checkHost(host: string): string {
  if (typeof host !== 'string' || host === '') throw new UpstreamConfigError('node host must be a non-empty string');
  if (!host.startsWith('[') && host.includes(':')) {
    throw new UpstreamConfigError(`IPv6 node address must be bracketed: "${host}"`);
  }
  return host;
}

function checkPort(port: number, where: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UpstreamConfigError(`invalid port in node "${where}"`);
  }
  return port;
}

function checkWeight(weight: number, where: string): number {
  if (!Number.isInteger(weight) || weight < 0) {
    throw new UpstreamConfigError(`invalid weight in node "${where}"`);
  }
  return weight;
}
