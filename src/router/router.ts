/**
 * APISIX's HTTP routers (spec/routing.md §2–§4), built once per config
 * snapshot:
 *
 * - `radixtree_uri` / `radixtree_uri_with_parameter`: one URI tree; a route's
 *   hosts are just a condition.
 * - `radixtree_host_uri` (APISIX's default): a host level first — the exact
 *   host, then wildcard hosts from the longest suffix to `*` — each with its
 *   own URI tree, and the routes without hosts as the last resort.
 *
 * A URI tree answers in lua-resty-radixtree's order (§3.1): the routes of the
 * exact path (hash lookup), then the routes of each registered prefix of the
 * path, longest prefix first; within one path or prefix, by priority, then
 * longer pattern, then registration order. The first candidate whose
 * conditions all hold wins (§3.2).
 */
import type { MatchInput, RouteEntry, RouteMatch, Router } from './types.js';
import { HostIndex, parseHostPattern } from './host.js';
import { compileConditions, methodBitOf } from './route-conditions.js';
import { parseUriPattern } from './uri-pattern.js';
import { UriTree, type Candidate } from './uri-tree.js';

export { RouteCompileError } from './route-conditions.js';

/** `apisix.router.http` values. */
export type RouterKind = 'radixtree_host_uri' | 'radixtree_uri' | 'radixtree_uri_with_parameter';

export const ROUTER_KINDS: readonly RouterKind[] = ['radixtree_host_uri', 'radixtree_uri', 'radixtree_uri_with_parameter'];

class UriRouter<T> implements Router<T> {
  constructor(
    private readonly tree: UriTree<T>,
    readonly size: number,
  ) {}

  match(input: MatchInput): RouteMatch<T> | undefined {
    return this.tree.match(input, methodBitOf(input.method), undefined);
  }
}

class HostUriRouter<T> implements Router<T> {
  constructor(
    private readonly hosts: HostIndex<UriTree<T>>,
    private readonly hostless: UriTree<T>,
    readonly size: number,
  ) {}

  match(input: MatchInput): RouteMatch<T> | undefined {
    const methodBit = methodBitOf(input.method);
    if (this.hosts.size > 0) {
      const host = input.host;
      const exact = this.hosts.exactEntry(host);
      if (exact !== undefined) {
        const result = exact.match(input, methodBit, host);
        if (result !== undefined) return result;
      }
      for (let w = this.hosts.longestWildcard(host); w !== undefined; w = w.shorter) {
        const result = w.value.value.match(input, methodBit, w.value.pattern);
        if (result !== undefined) return result;
      }
    }
    return this.hostless.match(input, methodBit, undefined);
  }
}

/**
 * Build a router over `routes` (already filtered to enabled routes, with
 * service hosts inherited). Registration order breaks ties, as insertion
 * order does in APISIX. Throws `RouteCompileError` for a route whose
 * methods or remote addresses cannot be compiled.
 *
 * `match()` expects `input.path` normalised (see normalize.ts; the
 * `matchPath` when `match_uri_encoded_slash` is on) and `input.host`
 * lower-cased without port. A `filter` that throws propagates, as a Lua
 * error in `filter_func` fails the request in APISIX.
 *
 * @example
 *   const router = createRouter('radixtree_host_uri', [
 *     { id: '1', value: 'azure', uris: ['/azure/*'], priority: 0 },
 *   ]);
 *   router.match({ path: '/azure/http/trigger', method: 'GET', host: 'a.com', remoteAddr: '127.0.0.1', vars: () => undefined });
 *   // { value: 'azure', matched: { _path: '/azure/*', _method: 'GET', ':ext': 'http/trigger' } }
 */
export function createRouter<T>(kind: RouterKind, routes: readonly RouteEntry<T>[]): Router<T> {
  const withParameters = kind === 'radixtree_uri_with_parameter';
  const byHost = kind === 'radixtree_host_uri';
  const candidatesOf = (entry: RouteEntry<T>): Candidate<T>[] => {
    const route = compileConditions(entry, !byHost);
    return entry.uris.map((uri) => ({ route, uri: parseUriPattern(uri, withParameters) }));
  };

  if (!byHost) {
    const tree = new UriTree<T>();
    for (const entry of routes) for (const c of candidatesOf(entry)) tree.add(c);
    tree.seal();
    return new UriRouter(tree, routes.length);
  }

  const hosts = new HostIndex<UriTree<T>>();
  const hostless = new UriTree<T>();
  const trees: UriTree<T>[] = [hostless];
  for (const entry of routes) {
    const candidates = candidatesOf(entry);
    if (entry.hosts === undefined || entry.hosts.length === 0) {
      for (const c of candidates) hostless.add(c);
      continue;
    }
    for (const host of entry.hosts) {
      const tree = hosts.upsert(parseHostPattern(host.toLowerCase()), () => {
        const created = new UriTree<T>();
        trees.push(created);
        return created;
      });
      for (const c of candidates) tree.add(c);
    }
  }
  for (const tree of trees) tree.seal();
  hosts.seal();
  return new HostUriRouter(hosts, hostless, routes.length);
}
