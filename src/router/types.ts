/**
 * Contract of the HTTP router (APISIX's radixtree routers, spec/routing.md
 * §2–§4). A router is built once per snapshot from the routes' match
 * conditions and answers `match()` per request without allocating much.
 */

/** Reads a request variable (`arg_x`, `http_user_agent`, `uri`, ...); undefined when absent. */
export type VarGetter = (name: string) => unknown;

/** A compiled `vars` / `_meta.filter` expression (spec/plugins.md §6). */
export type CompiledExpr = (vars: VarGetter) => boolean;

/** Match conditions of one route (after service host inheritance), plus the payload returned on match. */
export interface RouteEntry<T> {
  readonly id: string;
  readonly value: T;
  /** `uri` or `uris` as configured. */
  readonly uris: readonly string[];
  /** Upper-case methods; empty or undefined = any. */
  readonly methods?: readonly string[];
  /** Lower-cased host patterns (`a.com`, `*.a.com`, `*`); undefined = any host. */
  readonly hosts?: readonly string[];
  /** IPs / CIDRs; undefined = any client. */
  readonly remoteAddrs?: readonly string[];
  /** Compiled `vars` expression. */
  readonly vars?: CompiledExpr;
  /** Compiled `filter_func`: the last condition checked before the path regex. */
  readonly filter?: (vars: VarGetter) => boolean;
  /** Default 0; higher first among routes on the same exact path or literal prefix. */
  readonly priority: number;
}

export interface MatchInput {
  /**
   * Normalised path (nginx `$uri`: decoded, dot segments resolved, slashes
   * merged) — `normalizeRequestTarget(...).matchPath`, which differs from
   * `.path` only with `apisix.match_uri_encoded_slash`.
   */
  readonly path: string;
  readonly method: string;
  /** Lower-cased Host without port (`$host`). */
  readonly host: string;
  /** Client address after real-ip processing. */
  readonly remoteAddr: string;
  /** Variable access for `vars` / `filter_func`. */
  readonly vars: VarGetter;
}

/** `ctx.curr_req_matched` (spec/routing.md §4). */
export interface MatchedInfo {
  _path: string;
  _method: string;
  _host?: string;
  ':ext'?: string;
  [capture: string]: string | undefined;
}

export interface RouteMatch<T> {
  readonly value: T;
  readonly matched: MatchedInfo;
}

export interface Router<T> {
  match(input: MatchInput): RouteMatch<T> | undefined;
  /** Number of route entries (for status/logs). */
  readonly size: number;
}
