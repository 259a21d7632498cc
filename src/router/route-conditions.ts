/**
 * A route's match conditions other than its path (spec/routing.md §3.2),
 * compiled once per route and checked per candidate in APISIX's order:
 * methods → remote_addrs → hosts → vars → filter_func.
 */
import { FngateError, errorMessage } from '../errors.js';
import type { CompiledExpr, MatchInput, RouteEntry, VarGetter } from './types.js';
import { compileHostCondition } from './host.js';
import { compileIpMatcher, type IpMatcher } from './ip.js';

/** A route's match conditions cannot be compiled (the Admin API schema normally prevents this). */
export class RouteCompileError extends FngateError {
  readonly code = 'ROUTER_INVALID_ROUTE';
  constructor(
    readonly routeId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`route ${routeId}: ${reason}`, options);
  }
}

/** One bit per method of the route schema's enum, as lua-resty-radixtree keeps them. */
const METHOD_BITS: ReadonlyMap<string, number> = new Map(
  ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PURGE'].map((m, i) => [m, 1 << i]),
);

/** The bit of a request method; 0 for methods no route can list (they pass only routes without methods). */
export function methodBitOf(method: string): number {
  return METHOD_BITS.get(method) ?? 0;
}

type HostCondition = (host: string, vars: VarGetter) => string | undefined;

/** What a route contributes to the trees: its compiled conditions, once per route. */
export interface Conditions<T> {
  readonly value: T;
  readonly priority: number;
  /** Bit set of allowed methods; 0 = any. */
  readonly methods: number;
  readonly remoteAddrs: IpMatcher | undefined;
  /** Only in the URI routers; `radixtree_host_uri` matches hosts at its first level. */
  readonly hosts: HostCondition | undefined;
  /** The hosts when every one is a plain name (no wildcard, no port): what a `CandidateList` can index. */
  readonly exactHosts: readonly string[] | undefined;
  readonly vars: CompiledExpr | undefined;
  readonly filter: ((vars: VarGetter) => boolean) | undefined;
}

/**
 * Run a candidate's conditions in APISIX's order: methods → remote_addrs →
 * hosts → vars → filter_func (the path check comes after, in the caller).
 * Returns false on failure, otherwise the `_host` to report.
 */
export function admit<T>(route: Conditions<T>, input: MatchInput, methodBit: number, host: string | undefined): string | undefined | false {
  if (route.methods !== 0 && (route.methods & methodBit) === 0) return false;
  if (route.remoteAddrs !== undefined && !route.remoteAddrs(input.remoteAddr)) return false;
  let matchedHost = host;
  if (route.hosts !== undefined) {
    matchedHost = route.hosts(input.host, input.vars);
    if (matchedHost === undefined) return false;
  }
  if (route.vars !== undefined && !route.vars(input.vars)) return false;
  if (route.filter !== undefined && !route.filter(input.vars)) return false;
  return matchedHost;
}

/**
 * Compile a route entry's conditions. With `hostsAsCondition` false
 * (`radixtree_host_uri`) hosts are left to the router's host level. Throws
 * `RouteCompileError` for a method or remote address that cannot be compiled.
 *
 * @example
 *   const c = compileConditions({ id: '1', value: 'v', uris: ['/'], priority: 0, methods: ['GET'] }, true);
 *   c.methods === methodBitOf('GET'); // true
 */
export function compileConditions<T>(entry: RouteEntry<T>, hostsAsCondition: boolean): Conditions<T> {
  let methods = 0;
  for (const method of entry.methods ?? []) {
    const bit = METHOD_BITS.get(method);
    if (bit === undefined) throw new RouteCompileError(entry.id, `unknown method ${method}`);
    methods |= bit;
  }
  let remoteAddrs: IpMatcher | undefined;
  if (entry.remoteAddrs !== undefined && entry.remoteAddrs.length > 0) {
    try {
      remoteAddrs = compileIpMatcher(entry.remoteAddrs);
    } catch (err) {
      throw new RouteCompileError(entry.id, errorMessage(err), { cause: err });
    }
  }
  const hostList = hostsAsCondition && entry.hosts !== undefined && entry.hosts.length > 0 ? entry.hosts.map((h) => h.toLowerCase()) : undefined;
  return {
    value: entry.value,
    priority: entry.priority,
    methods,
    remoteAddrs,
    hosts: hostList === undefined ? undefined : compileHostCondition(hostList),
    exactHosts: hostList?.every((h) => !h.startsWith('*') && !h.includes(':')) ? hostList : undefined,
    vars: entry.vars,
    filter: entry.filter,
  };
}
