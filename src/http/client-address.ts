/**
 * Who is calling and which host they asked for, as nginx computes `$host`
 * and `$remote_addr` (with the realip module APISIX configures:
 * `real_ip_header X-Real-IP; set_real_ip_from 127.0.0.1, unix:` by default,
 * spec/config.md §2).
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { compileIpMatcher } from '../router/ip.js';

/**
 * Strip the IPv4-mapped prefix Node reports on dual-stack sockets, so a
 * client on 127.0.0.1 is `127.0.0.1` (as nginx shows it), not `::ffff:127.0.0.1`.
 */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * `$host`: the Host header without port, lower-cased; IPv6 literals keep
 * their brackets. Falls back to `fallback` (the listener address) when the
 * request has no Host header.
 *
 * @example
 *   hostOf('Example.COM:9080', '') // 'example.com'
 *   hostOf('[::1]:9080', '')       // '[::1]'
 */
export function hostOf(header: string | undefined, fallback: string): string {
  if (!header) return fallback;
  let host = header;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  // Fast path: most Host headers are already lower case.
  return /[A-Z]/.test(host) ? host.toLowerCase() : host;
}

export interface RealIpOptions {
  /** Header carrying the client address (`real_ip_header`, default `X-Real-IP`). */
  readonly header: string;
  /** Peers whose header is trusted (`real_ip_from`); `unix:` entries are ignored (no unix listeners). */
  readonly trustedFrom: readonly string[];
}

/**
 * Build the `$remote_addr` resolver. The peer's address is replaced by the
 * header's value only when the peer is trusted and the value is an IP.
 */
export function createRemoteAddrResolver(options: RealIpOptions): (req: IncomingMessage) => string {
  const trusted = options.trustedFrom.filter((e) => !e.startsWith('unix:'));
  const headerName = options.header.toLowerCase();
  if (trusted.length === 0) return (req) => plainAddress(req.socket.remoteAddress);
  const isTrusted = compileIpMatcher(trusted);
  return (req) => {
    const peer = plainAddress(req.socket.remoteAddress);
    const claimed = req.headers[headerName];
    if (claimed === undefined || !isTrusted(peer)) return peer;
    const value = (Array.isArray(claimed) ? claimed[0] : claimed)?.trim();
    // X-Forwarded-For style lists: nginx takes the last address when not recursive.
    const last = value?.includes(',') ? value.slice(value.lastIndexOf(',') + 1).trim() : value;
    return last && isIP(last) ? last : peer;
  };
}
