/**
 * Route host patterns (spec/routing.md §3.3): an exact host, `*` alone
 * (any host), or a leading `*` meaning "ends with the rest" (`*.foo.com`
 * matches `a.foo.com` and `a.b.foo.com` but not `foo.com`; `*foo.com` also
 * matches `foo.com`).
 *
 * Two uses: a per-route condition for `radixtree_uri`, and `HostIndex`, the
 * first level of `radixtree_host_uri`, which yields the entries that match a
 * request host from most to least specific.
 */
import type { VarGetter } from './types.js';
import { PrefixTree, type PrefixMatch } from './prefix-tree.js';

export interface HostPattern {
  /** As configured (already lower-cased at load). */
  readonly pattern: string;
  readonly wildcard: boolean;
  /** Exact: the host. Wildcard: the required ending (empty for `*`). */
  readonly suffix: string;
}

/** @example parseHostPattern('*.foo.com'); // { pattern: '*.foo.com', wildcard: true, suffix: '.foo.com' } */
export function parseHostPattern(pattern: string): HostPattern {
  const wildcard = pattern.startsWith('*');
  return { pattern, wildcard, suffix: wildcard ? pattern.slice(1) : pattern };
}

/** @example hostMatches(parseHostPattern('*foo.com'), 'foo.com'); // true */
export function hostMatches(p: HostPattern, host: string): boolean {
  return p.wildcard ? host.endsWith(p.suffix) : host === p.suffix;
}

/**
 * Order in which `radixtree_host_uri` tries host entries that all match one
 * request host: the exact entry first, then wildcards by longer suffix.
 * Negative when `a` is more specific.
 */
export function compareHostSpecificity(a: HostPattern, b: HostPattern): number {
  if (a.wildcard !== b.wildcard) return a.wildcard ? 1 : -1;
  return b.suffix.length - a.suffix.length;
}

/**
 * A route's `hosts` as a condition (`radixtree_uri`): returns the value
 * reported as `_host` — the pattern for a wildcard entry, the request host
 * for an exact one — or undefined when no entry matches. Entries containing
 * `:` are compared with the raw `Host` header (`http_host`), as
 * lua-resty-radixtree does, so `foo.com:8080` can be routed.
 *
 * @example
 *   const cond = compileHostCondition(['*.foo.com', 'bar.com']);
 *   cond('a.foo.com', vars); // '*.foo.com'
 *   cond('bar.com', vars);   // 'bar.com'
 */
export function compileHostCondition(patterns: readonly string[]): (host: string, vars: VarGetter) => string | undefined {
  const parsed = patterns.map(parseHostPattern);
  const withPort = parsed.map((p) => p.suffix.includes(':'));
  return (host, vars) => {
    for (let i = 0; i < parsed.length; i++) {
      const p = parsed[i] as HostPattern;
      let subject = host;
      if (withPort[i]) {
        const raw = vars('http_host');
        if (typeof raw === 'string') subject = raw;
      }
      if (hostMatches(p, subject)) return p.wildcard ? p.pattern : host;
    }
    return undefined;
  };
}

function reverse(s: string): string {
  return Array.from(s).reverse().join('');
}

/** A wildcard entry of a `HostIndex`. */
export interface WildcardHost<V> {
  readonly pattern: string;
  readonly value: V;
}

/**
 * Host entries of `radixtree_host_uri`, each carrying a value (the URI
 * router of that host). Exact hosts are a hash lookup; wildcard suffixes are
 * stored reversed in a prefix tree, so the matches for a request host come
 * out longest suffix first without scanning every wildcard.
 *
 * @example
 *   const index = new HostIndex<string>();
 *   index.upsert(parseHostPattern('*.foo.com'), () => 'wild');
 *   index.upsert(parseHostPattern('a.foo.com'), () => 'exact');
 *   index.seal();
 *   index.exactEntry('a.foo.com');                          // 'exact'
 *   index.longestWildcard('a.foo.com')?.value.value;        // 'wild'
 */
export class HostIndex<V> {
  private readonly exact = new Map<string, V>();
  private readonly wildcards = new PrefixTree<WildcardHost<V>>();

  get size(): number {
    return this.exact.size + this.wildcards.size;
  }

  upsert(p: HostPattern, create: () => V): V {
    if (!p.wildcard) {
      let value = this.exact.get(p.suffix);
      if (value === undefined) this.exact.set(p.suffix, (value = create()));
      return value;
    }
    return this.wildcards.upsert(reverse(p.suffix), () => ({ pattern: p.pattern, value: create() })).value;
  }

  seal(): void {
    this.wildcards.seal();
  }

  /** The entry of the exact host, tried before any wildcard. */
  exactEntry(host: string): V | undefined {
    return this.exact.get(host);
  }

  /**
   * The most specific wildcard entry matching `host`; follow `shorter` for
   * the less specific ones (longest suffix first, `*` last).
   */
  longestWildcard(host: string): PrefixMatch<WildcardHost<V>> | undefined {
    if (this.wildcards.size === 0) return undefined;
    return this.wildcards.longestPrefixOfReversed(host);
  }
}
