/**
 * How a route `uri` is registered (spec/routing.md §3): as an exact path, or
 * as a literal prefix plus, when the pattern has `:name` or `*name`
 * segments, a check that the whole request path fits the pattern, which
 * also yields the captures.
 *
 * lua-resty-radixtree builds that check as a regex from the segments
 * (`:name` → one segment, `*name` → anything, `/` and newlines included,
 * other segments literal) and requires the match to span the whole path.
 * Patterns whose `*` segment, if any, is the last one (`/blog/*`,
 * `/user/:id`, `/files/:bucket/*`) are checked by a token walk instead: with
 * thousands of routes, thousands of distinct RegExp objects cost several
 * times more per lookup than a few `startsWith`/`indexOf` calls. A `*` in
 * the middle needs backtracking and keeps the regex.
 */

/** Whole-path check of a prefix pattern. */
export interface PathCheck {
  /** Capture names in pattern order (`:ext` for a bare `*`). */
  readonly names: readonly string[];
  /** Captures aligned with `names` when `path` fits the pattern, else null. */
  capture(path: string): ReadonlyArray<string | undefined> | null;
}

export interface UriPattern {
  /** The pattern as configured (lua-resty-radixtree's `path_org`); reported as `_path`. */
  readonly pattern: string;
  /** Exact paths are looked up by hash; prefixes through the prefix tree. */
  readonly exact: boolean;
  /** The exact path, or the literal prefix (text before the first `*`, or `:` with parameters). */
  readonly key: string;
  /** Present for prefixes with `:`/`*` segments; without it nothing beyond the prefix is checked (`/blog/bar*`). */
  readonly check?: PathCheck;
}

const LITERAL = 0;
const SEGMENT = 1;
const REST = 2;

/** One piece of a pattern: literal text, a one-segment capture, or the rest of the path. */
interface Token {
  readonly kind: typeof LITERAL | typeof SEGMENT | typeof REST;
  /** The text of a LITERAL token; empty otherwise. */
  readonly literal: string;
}

function escapeRegex(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** The pattern's segments as lua-resty-radixtree reads them: name of each capture, or undefined for a literal. */
function segmentsOf(pattern: string): Array<{ text: string; kind: 'literal' | 'segment' | 'rest'; name?: string }> {
  return pattern.split('/').map((text) => {
    if (text.startsWith(':')) return { text, kind: 'segment', name: text.slice(1) };
    if (text.startsWith('*')) return { text, kind: 'rest', name: text.length > 1 ? text.slice(1) : ':ext' };
    return { text, kind: 'literal' };
  });
}

/**
 * The regex form of a pattern's check (anchored: the match must be the whole
 * path), or undefined when the pattern has no `:`/`*` segment.
 *
 * @example compilePathRegex('/a/*x/c')?.names; // ['x']
 */
export function compilePathRegex(pattern: string): { regex: RegExp; names: string[] } | undefined {
  const names: string[] = [];
  const source = segmentsOf(pattern)
    .map((s) => {
      if (s.kind === 'literal') return escapeRegex(s.text);
      names.push(s.name as string);
      return s.kind === 'segment' ? '([^/]+)' : '([\\s\\S]*)';
    })
    .join('/');
  return names.length === 0 ? undefined : { regex: new RegExp(`^${source}$`), names };
}

class RegexCheck implements PathCheck {
  constructor(
    private readonly regex: RegExp,
    readonly names: readonly string[],
  ) {}

  capture(path: string): ReadonlyArray<string | undefined> | null {
    const m = this.regex.exec(path);
    return m === null ? null : m.slice(1);
  }
}

/**
 * Walks literal text, one-segment captures and a final rest-of-path capture.
 * Equivalent to the regex for these patterns: a segment capture stops at the
 * next `/` and whatever follows it starts with `/` (or is the end), so there
 * is nothing to backtrack over.
 */
class TokenCheck implements PathCheck {
  constructor(
    private readonly tokens: readonly Token[],
    readonly names: readonly string[],
  ) {}

  capture(path: string): ReadonlyArray<string | undefined> | null {
    const tokens = this.tokens;
    const captures: string[] = [];
    let pos = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as Token;
      if (token.kind === LITERAL) {
        if (!path.startsWith(token.literal, pos)) return null;
        pos += token.literal.length;
      } else if (token.kind === SEGMENT) {
        let end = path.indexOf('/', pos);
        if (end < 0) end = path.length;
        if (end === pos) return null;
        captures.push(path.slice(pos, end));
        pos = end;
      } else {
        captures.push(path.slice(pos));
        pos = path.length;
      }
    }
    return pos === path.length ? captures : null;
  }
}

function compileCheck(pattern: string): PathCheck | undefined {
  const segments = segmentsOf(pattern);
  const names = segments.filter((s) => s.kind !== 'literal').map((s) => s.name as string);
  if (names.length === 0) return undefined;
  const restAt = segments.findIndex((s) => s.kind === 'rest');
  if (restAt >= 0 && restAt < segments.length - 1) {
    const compiled = compilePathRegex(pattern) as { regex: RegExp; names: string[] };
    return new RegexCheck(compiled.regex, compiled.names);
  }
  // Literal runs between captures, '/' separators included, merged into single tokens.
  const tokens: Token[] = [];
  let literal = '';
  segments.forEach((s, i) => {
    if (i > 0) literal += '/';
    if (s.kind === 'literal') {
      literal += s.text;
      return;
    }
    if (literal !== '') tokens.push({ kind: LITERAL, literal });
    literal = '';
    tokens.push({ kind: s.kind === 'segment' ? SEGMENT : REST, literal: '' });
  });
  if (literal !== '') tokens.push({ kind: LITERAL, literal });
  return new TokenCheck(tokens, names);
}

/**
 * Classify a route URI. In the default routers `:` is an ordinary character
 * (`no_param_match`); with `withParameters` the prefix ends at the first
 * `:`. Otherwise a `*` anywhere ends the prefix, and a pattern with neither
 * is an exact path.
 *
 * @example
 *   parseUriPattern('/blog/*', false);        // prefix '/blog/', captures ':ext'
 *   parseUriPattern('/user/:id', false);      // exact '/user/:id'
 *   parseUriPattern('/user/:id', true);       // prefix '/user/', captures 'id'
 */
export function parseUriPattern(pattern: string, withParameters: boolean): UriPattern {
  let cut = withParameters ? pattern.indexOf(':') : -1;
  if (cut < 0) cut = pattern.indexOf('*');
  if (cut < 0) return { pattern, exact: true, key: pattern };
  const check = compileCheck(pattern);
  const key = pattern.slice(0, cut);
  return check ? { pattern, exact: false, key, check } : { pattern, exact: false, key };
}
