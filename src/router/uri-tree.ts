/**
 * The URI level of the routers (spec/routing.md §3.1): exact paths by hash,
 * prefixes in a prefix tree; the candidates of one path or prefix are tried
 * by priority, then longer pattern, then registration order, and the first
 * whose conditions and path check hold wins.
 */
import type { MatchedInfo, MatchInput, RouteMatch } from './types.js';
import { admit, type Conditions } from './route-conditions.js';
import { PrefixTree } from './prefix-tree.js';
import type { PathCheck, UriPattern } from './uri-pattern.js';

/** One registered URI of a route. */
export interface Candidate<T> {
  readonly route: Conditions<T>;
  readonly uri: UriPattern;
}

/**
 * Try one candidate for a request path: its conditions, then (for a prefix
 * with `:`/`*` segments) the whole-path check. Builds the match record on
 * success; `_path` is the pattern (for an exact route, the path itself).
 */
function attempt<T>(candidate: Candidate<T>, input: MatchInput, methodBit: number, host: string | undefined): RouteMatch<T> | undefined {
  const { route, uri } = candidate;
  const matchedHost = admit(route, input, methodBit, host);
  if (matchedHost === false) return undefined;
  let captures: ReadonlyArray<string | undefined> | null = null;
  if (uri.check !== undefined) {
    captures = uri.check.capture(input.path);
    if (captures === null) return undefined;
  }
  const matched: MatchedInfo = { _path: uri.pattern, _method: input.method };
  if (matchedHost !== undefined) matched._host = matchedHost;
  if (captures !== null) {
    const names = (uri.check as PathCheck).names;
    for (let i = 0; i < names.length; i++) {
      const captured = captures[i];
      if (captured !== undefined) matched[names[i] as string] = captured;
    }
  }
  return { value: route.value, matched };
}

/** Sort order inside one exact path or one prefix (lua-resty-radixtree's sort_route; sort is stable). */
function byPrecedence<T>(a: Candidate<T>, b: Candidate<T>): number {
  return b.route.priority - a.route.priority || b.uri.pattern.length - a.uri.pattern.length;
}

/** Below this many candidates on one key a plain scan is as fast as any index. */
const HOST_INDEX_THRESHOLD = 8;
const NO_POSITIONS: readonly number[] = [];

/**
 * The candidates of one exact path or one prefix, in precedence order.
 *
 * In the URI routers many routes may share a key and differ only by host
 * (one `/api/*` per tenant). Such lists get an index from plain host names
 * to positions, so a lookup visits the candidates of the request's host and
 * those that might match any host (no hosts, wildcards, ports), merged back
 * into precedence order — the same first winner as a full scan.
 */
class CandidateList<T> {
  readonly all: Candidate<T>[] = [];
  private byHost: Map<string, number[]> | undefined;
  private general: readonly number[] = NO_POSITIONS;

  seal(): void {
    this.all.sort(byPrecedence);
    if (this.all.length < HOST_INDEX_THRESHOLD) return;
    const byHost = new Map<string, number[]>();
    const general: number[] = [];
    this.all.forEach((candidate, position) => {
      const hosts = candidate.route.exactHosts;
      if (hosts === undefined) {
        general.push(position);
        return;
      }
      for (const host of new Set(hosts)) {
        const positions = byHost.get(host);
        if (positions === undefined) byHost.set(host, [position]);
        else positions.push(position);
      }
    });
    if (byHost.size > 0) {
      this.byHost = byHost;
      this.general = general;
    }
  }

  match(input: MatchInput, methodBit: number, host: string | undefined): RouteMatch<T> | undefined {
    const all = this.all;
    if (this.byHost === undefined) {
      for (let i = 0; i < all.length; i++) {
        const result = attempt(all[i] as Candidate<T>, input, methodBit, host);
        if (result !== undefined) return result;
      }
      return undefined;
    }
    const general = this.general;
    const specific = this.byHost.get(input.host) ?? NO_POSITIONS;
    let g = 0;
    let s = 0;
    while (g < general.length || s < specific.length) {
      const nextGeneral = g < general.length ? (general[g] as number) : Infinity;
      const nextSpecific = s < specific.length ? (specific[s] as number) : Infinity;
      let position: number;
      if (nextGeneral < nextSpecific) {
        position = nextGeneral;
        g++;
      } else {
        position = nextSpecific;
        s++;
      }
      const result = attempt(all[position] as Candidate<T>, input, methodBit, host);
      if (result !== undefined) return result;
    }
    return undefined;
  }
}

/**
 * The URI level: exact paths by hash, prefixes in a prefix tree. `add` all
 * candidates, `seal` once, then `match` per request; `host` is the `_host`
 * already decided by a host level (`radixtree_host_uri`), if any.
 *
 * @example
 *   const tree = new UriTree<string>();
 *   const route = compileConditions({ id: '1', value: 'blog', uris: ['/blog/*'], priority: 0 }, true);
 *   tree.add({ route, uri: parseUriPattern('/blog/*', false) });
 *   tree.seal();
 *   tree.match(input, methodBitOf(input.method), undefined)?.matched; // { _path: '/blog/*', _method: 'GET', ':ext': '…' }
 */
export class UriTree<T> {
  private readonly exact = new Map<string, CandidateList<T>>();
  private readonly prefixes = new PrefixTree<CandidateList<T>>();
  private readonly lists: CandidateList<T>[] = [];

  add(candidate: Candidate<T>): void {
    const { uri } = candidate;
    let list: CandidateList<T>;
    if (uri.exact) {
      let existing = this.exact.get(uri.key);
      if (existing === undefined) {
        existing = new CandidateList<T>();
        this.exact.set(uri.key, existing);
        this.lists.push(existing);
      }
      list = existing;
    } else {
      list = this.prefixes.upsert(uri.key, () => {
        const created = new CandidateList<T>();
        this.lists.push(created);
        return created;
      });
    }
    list.all.push(candidate);
  }

  seal(): void {
    for (const list of this.lists) list.seal();
    this.prefixes.seal();
  }

  match(input: MatchInput, methodBit: number, host: string | undefined): RouteMatch<T> | undefined {
    const exact = this.exact.get(input.path);
    if (exact !== undefined) {
      const result = exact.match(input, methodBit, host);
      if (result !== undefined) return result;
    }
    for (let node = this.prefixes.longestPrefixOf(input.path); node !== undefined; node = node.shorter) {
      const result = node.value.match(input, methodBit, host);
      if (result !== undefined) return result;
    }
    return undefined;
  }
}

