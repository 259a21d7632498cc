/**
 * IP / CIDR matching for route `remote_addrs`, the `ipmatch` expression
 * operator and address allow-lists (spec/routing.md §2.1, spec/plugins.md §6.2).
 *
 * Lists are parsed once into integer ranges; a lookup for an IPv4 client is a
 * hand-written dotted-quad parse plus a range check, with no allocation.
 * IPv6 clients are parsed with ipaddr.js. An IPv4-mapped IPv6 client
 * (`::ffff:1.2.3.4`, what a dual-stack Node socket reports) also matches the
 * IPv4 entries, so `1.2.3.0/24` admits it.
 */
import ipaddr from 'ipaddr.js';
import { FngateError } from '../errors.js';

/**
 * An entry of an IP list is neither an IPv4/IPv6 address nor a CIDR.
 * The message is lua-resty-ipmatcher's (`invalid ip address: <entry>`),
 * which lua-resty-expr passes through for `ipmatch`.
 */
export class InvalidIpError extends FngateError {
  readonly code = 'ROUTER_INVALID_IP';
  constructor(readonly entry: string) {
    super(`invalid ip address: ${entry}`);
  }
}

/** Tests whether a client address (as reported by the socket) is in a compiled list. */
export type IpMatcher = (ip: string) => boolean;

/** Above this many IPv4 ranges a binary search beats a linear scan. */
const LINEAR_SCAN_LIMIT = 8;

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_DOT = 46;

/**
 * Strict dotted-quad parse (what `inet_pton(AF_INET)` accepts: four decimal
 * octets, no leading zeros, nothing else). Returns the address as an unsigned
 * 32-bit integer, or -1 when `s[start..]` is not an IPv4 address.
 */
function parseIpv4(s: string, start = 0): number {
  const end = s.length;
  if (end - start < 7 || end - start > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= CODE_0 && c <= CODE_9) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - CODE_0);
      if (octet > 255) return -1;
      digits++;
    } else if (c === CODE_DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** `::ffff:` in any letter case: the prefix of an IPv4-mapped IPv6 address in dotted form. */
function mappedIpv4Start(s: string): number {
  if (s.length < 14 || s.charCodeAt(0) !== 58 || s.charCodeAt(1) !== 58 || s.charCodeAt(6) !== 58) return -1;
  const tag = s.slice(2, 6);
  return tag === 'ffff' || tag.toLowerCase() === 'ffff' ? 7 : -1;
}

/**
 * Four 32-bit words of an IPv6 address, or undefined when `s` is not one.
 * Zone ids are refused, as inet_pton does; surrounding brackets (`[::1]`)
 * are accepted, as lua-resty-ipmatcher strips them.
 */
function parseIpv6Words(s: string): Uint32Array | undefined {
  if (s.charCodeAt(0) === 91 && s.charCodeAt(s.length - 1) === 93) s = s.slice(1, -1);
  if (!ipaddr.IPv6.isValid(s)) return undefined;
  const addr = ipaddr.IPv6.parse(s);
  if (addr.zoneId !== undefined) return undefined;
  const p = addr.parts;
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((p[2 * i] ?? 0) * 0x10000 + (p[2 * i + 1] ?? 0)) >>> 0;
  return words;
}

interface ParsedEntry {
  readonly v4?: { readonly lo: number; readonly hi: number };
  readonly v6?: { readonly net: Uint32Array; readonly mask: Uint32Array };
}

function maskWord(bitsInWord: number): number {
  if (bitsInWord <= 0) return 0;
  if (bitsInWord >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bitsInWord)) >>> 0;
}

/**
 * Parse one list entry (`1.2.3.4`, `10.0.0.0/8`, `::1`, `fe80::/10`), or
 * undefined when invalid. `strict` refuses the bracketed IPv6 form that
 * lua-resty-ipmatcher tolerates but the route schema does not.
 */
function parseEntry(entry: string, strict: boolean): ParsedEntry | undefined {
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  if (strict && addr.startsWith('[')) return undefined;
  let prefix: number | undefined;
  if (slash >= 0) {
    const bits = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits)) return undefined;
    prefix = Number(bits);
  }
  const v4 = parseIpv4(addr);
  if (v4 >= 0) {
    const len = prefix ?? 32;
    if (len > 32) return undefined;
    const size = 2 ** (32 - len);
    const lo = v4 - (v4 % size);
    return { v4: { lo, hi: lo + size - 1 } };
  }
  const words = parseIpv6Words(addr);
  if (!words) return undefined;
  const len = prefix ?? 128;
  if (len > 128) return undefined;
  const mask = new Uint32Array(4);
  const net = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    mask[i] = maskWord(len - 32 * i);
    net[i] = ((words[i] ?? 0) & (mask[i] ?? 0)) >>> 0;
  }
  return { v6: { net, mask } };
}

/**
 * Whether `s` is an IPv4 or IPv6 address, or a CIDR of either, as route
 * `remote_addrs` and config allow-lists accept them.
 *
 * @example
 *   isValidIpOrCidr('10.0.0.0/8'); // true
 *   isValidIpOrCidr('10.0.0.300'); // false
 */
export function isValidIpOrCidr(s: string): boolean {
  return typeof s === 'string' && parseEntry(s, true) !== undefined;
}

/** Sort and merge IPv4 ranges so that a lookup may stop at the first range above the address. */
function mergeRanges(ranges: Array<{ lo: number; hi: number }>): { los: Float64Array; his: Float64Array } {
  ranges.sort((a, b) => a.lo - b.lo);
  const merged: Array<{ lo: number; hi: number }> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else merged.push({ lo: r.lo, hi: r.hi });
  }
  return {
    los: Float64Array.from(merged, (r) => r.lo),
    his: Float64Array.from(merged, (r) => r.hi),
  };
}

/**
 * Compile a list of addresses and CIDRs into a predicate. Throws
 * `InvalidIpError` on the first invalid entry. A client string that is not an
 * IP address never matches.
 *
 * @example
 *   const allowed = compileIpMatcher(['127.0.0.1', '10.0.0.0/8', '::1']);
 *   allowed('10.1.2.3');        // true
 *   allowed('::ffff:10.1.2.3'); // true (IPv4-mapped)
 *   allowed('192.168.0.1');     // false
 */
export function compileIpMatcher(list: readonly string[]): IpMatcher {
  const v4: Array<{ lo: number; hi: number }> = [];
  const v6: Array<{ net: Uint32Array; mask: Uint32Array }> = [];
  for (const entry of list) {
    const parsed = typeof entry === 'string' ? parseEntry(entry, false) : undefined;
    if (!parsed) throw new InvalidIpError(String(entry));
    if (parsed.v4) v4.push({ lo: parsed.v4.lo, hi: parsed.v4.hi });
    if (parsed.v6) v6.push(parsed.v6);
  }
  const { los, his } = mergeRanges(v4);
  const count = los.length;

  const matchV4 = (addr: number): boolean => {
    if (count <= LINEAR_SCAN_LIMIT) {
      for (let i = 0; i < count; i++) {
        if (addr < (los[i] as number)) return false;
        if (addr <= (his[i] as number)) return true;
      }
      return false;
    }
    // Last range whose start is <= addr, then check its end.
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((los[mid] as number) <= addr) lo = mid;
      else hi = mid - 1;
    }
    return (los[lo] as number) <= addr && addr <= (his[lo] as number);
  };

  const matchV6 = (words: Uint32Array): boolean => {
    for (const { net, mask } of v6) {
      if (
        ((words[0] as number) & (mask[0] as number)) >>> 0 === net[0] &&
        ((words[1] as number) & (mask[1] as number)) >>> 0 === net[1] &&
        ((words[2] as number) & (mask[2] as number)) >>> 0 === net[2] &&
        ((words[3] as number) & (mask[3] as number)) >>> 0 === net[3]
      ) {
        return true;
      }
    }
    return false;
  };

  return (ip: string): boolean => {
    if (typeof ip !== 'string') return false;
    const addr = parseIpv4(ip);
    if (addr >= 0) return count > 0 && matchV4(addr);
    // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; with no IPv6
    // entries that is all we need to look at.
    if (v6.length === 0) {
      const mappedAt = mappedIpv4Start(ip);
      const embedded = mappedAt > 0 ? parseIpv4(ip, mappedAt) : -1;
      if (embedded >= 0) return count > 0 && matchV4(embedded);
    }
    const words = parseIpv6Words(ip);
    if (!words) return false;
    if (count > 0 && words[0] === 0 && words[1] === 0 && words[2] === 0xffff && matchV4(words[3] as number)) {
      return true;
    }
    return matchV6(words);
  };
}
