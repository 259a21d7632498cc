/**
 * Request-target → the path routes are matched against (spec/routing.md §2.1).
 *
 * APISIX matches nginx's `$uri`: the path without the query, percent-decoded,
 * with `.`/`..` segments resolved and runs of `/` merged. nginx answers 400
 * for an invalid escape, an escaped NUL, or a `..` that climbs above the
 * root; so does fngate (the caller turns a failure into 400). On top come
 * the three `apisix.*` options of spec/config.md.
 *
 * Most targets need none of that work: one scan decides, and the path is
 * returned as a slice of the input.
 */

export interface NormalizeOptions {
  /** `apisix.delete_uri_tail_slash`: strip one trailing `/` (never from `/` itself). */
  readonly deleteUriTailSlash?: boolean;
  /**
   * `apisix.match_uri_encoded_slash`: match with `%2F` kept encoded, but only
   * when nginx did nothing beyond percent-decoding (a plain decode of the raw
   * path equals the normalised one); otherwise fall back to the normalised path.
   */
  readonly matchUriEncodedSlash?: boolean;
  /** `apisix.normalize_uri_like_servlet`: drop `;params` from each segment. */
  readonly normalizeUriLikeServlet?: boolean;
}

/** Why a target is refused; every reason means 400 Bad Request. */
export type NormalizeFailure =
  | 'not-origin-form'
  | 'control-character'
  | 'invalid-escape'
  | 'escaped-nul'
  | 'above-root'
  | 'dot-segment-with-parameter'
  | 'empty-segment-with-parameters'
  | 'encoded-dot-segment';

export type NormalizedTarget =
  | {
      readonly ok: true;
      /** `ctx.var.uri`: decoded, dot segments resolved, slashes merged. */
      readonly path: string;
      /** What the router matches: `path`, or the `%2F`-preserving form (see `matchUriEncodedSlash`). */
      readonly matchPath: string;
      /** Text after the first `?` up to any `#`; undefined when the target has no `?` (nginx `$is_args` empty). */
      readonly query: string | undefined;
    }
  | { readonly ok: false; readonly reason: NormalizeFailure };

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const HASH = 0x23;
const SEMICOLON = 0x3b;

function fail(reason: NormalizeFailure): NormalizedTarget {
  return { ok: false, reason };
}

/** Internal failure result of a normalisation step (successes are plain strings). */
interface Refusal {
  readonly refused: NormalizeFailure;
}

function refuse(reason: NormalizeFailure): Refusal {
  return { refused: reason };
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * nginx's `ngx_http_parse_complex_uri` on `raw` (the path part of the
 * target): decode escapes, then resolve dot segments and merge slashes over
 * the decoded bytes, so `%2F` and `%2e%2e` take part as nginx lets them.
 */
function normalizeComplex(raw: string): string | Refusal {
  const src = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  let segStart = 1; // out[0] is always the leading '/'
  out[o++] = SLASH;

  /** Close the segment out[segStart..o): drop `.`, climb for `..`. False when `..` is above the root. */
  const closeSegment = (): boolean => {
    const len = o - segStart;
    if (len === 1 && out[segStart] === DOT) {
      o = segStart;
      return true;
    }
    if (len === 2 && out[segStart] === DOT && out[segStart + 1] === DOT) {
      if (segStart === 1) return false;
      let p = segStart - 2;
      while (out[p] !== SLASH) p--;
      o = p + 1;
      segStart = o;
      return true;
    }
    if (len > 0) {
      out[o++] = SLASH;
      segStart = o;
    }
    return true;
  };

  for (let i = 1; i < src.length; i++) {
    let b = src[i] as number;
    if (b === PERCENT) {
      const hi = hexDigit(src[i + 1] ?? 0);
      const lo = hi < 0 ? -1 : hexDigit(src[i + 2] ?? 0);
      if (lo < 0) return refuse('invalid-escape');
      b = hi * 16 + lo;
      if (b === 0) return refuse('escaped-nul');
      i += 2;
    }
    if (b === SLASH) {
      // A '/' right after a '/' is merged; otherwise it ends a segment.
      if (o !== segStart && !closeSegment()) return refuse('above-root');
    } else {
      out[o++] = b;
    }
  }
  // The last segment has no '/' after it: resolve it without adding one.
  const len = o - segStart;
  if (len === 1 && out[segStart] === DOT) {
    o = segStart;
  } else if (len === 2 && out[segStart] === DOT && out[segStart + 1] === DOT) {
    if (segStart === 1) return refuse('above-root');
    let p = segStart - 2;
    while (out[p] !== SLASH) p--;
    o = p + 1;
  }
  return out.toString('utf8', 0, o);
}

/** Percent-decode every escape (no other normalisation); `keepSlash` leaves `%2F` encoded, upper-cased. */
function plainDecode(raw: string, keepSlash: boolean): string {
  const src = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b === PERCENT) {
      const decoded = hexDigit(src[i + 1] ?? 0) * 16 + hexDigit(src[i + 2] ?? 0);
      if (keepSlash && decoded === SLASH) {
        out[o++] = PERCENT;
        out[o++] = 0x32; // '2'
        out[o++] = 0x46; // 'F'
      } else {
        out[o++] = decoded;
      }
      i += 2;
    } else {
      out[o++] = b;
    }
  }
  return out.toString('utf8', 0, o);
}

/**
 * APISIX's normalize_uri_like_servlet: split on `/` (dropping trailing empty
 * fields, as ngx.re.split does), cut each segment at its first `;`, and
 * refuse segments that would smuggle a dot segment past the router.
 */
function stripServletParams(path: string): string | Refusal {
  if (!path.includes(';')) return path;
  const segs = path.split('/');
  while (segs.length > 0 && segs[segs.length - 1] === '') segs.pop();
  const last = segs.length - 1;
  for (let i = 0; i <= last; i++) {
    const seg = segs[i] as string;
    const cut = seg.indexOf(';');
    if (cut < 0) continue;
    const kept = seg.slice(0, cut);
    if (kept === '.' || kept === '..') return refuse('dot-segment-with-parameter');
    if (kept === '' && i < last) return refuse('empty-segment-with-parameters');
    const lower = kept.toLowerCase();
    if (lower === '%2e' || lower === '%2e%2e') return refuse('encoded-dot-segment');
    segs[i] = kept;
  }
  return segs.join('/');
}

/**
 * Split a request-target into the normalised path and the query.
 * Only origin-form targets (starting with `/`) are accepted; `*` and
 * absolute-form are refused and left to the caller.
 *
 * @example
 *   normalizeRequestTarget('/azure///http////trigger?x=1', {});
 *   // { ok: true, path: '/azure/http/trigger', matchPath: '/azure/http/trigger', query: 'x=1' }
 *   normalizeRequestTarget('/a/%2e%2e/%2e%2e/etc', {}); // { ok: false, reason: 'above-root' }
 */
export function normalizeRequestTarget(rawTarget: string, options: NormalizeOptions = {}): NormalizedTarget {
  if (rawTarget.charCodeAt(0) !== SLASH) return fail('not-origin-form');

  // One scan: find where the path ends and whether nginx would have any work to do.
  const length = rawTarget.length;
  let end = length;
  let complex = false;
  let escaped = false;
  let semicolon = false;
  for (let i = 0; i < length; i++) {
    const c = rawTarget.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      end = i;
      break;
    }
    if (c <= 0x20 || c === 0x7f) return fail('control-character');
    if (c === PERCENT) {
      escaped = true;
      complex = true;
    } else if (c === SLASH) {
      const next = rawTarget.charCodeAt(i + 1);
      if (next === SLASH || next === DOT) complex = true;
    } else if (c === SEMICOLON) {
      semicolon = true;
    } else if (c > 0x7f) {
      complex = true;
    }
  }

  let query: string | undefined;
  if (end < length && rawTarget.charCodeAt(end) === QUESTION) {
    // nginx ends $args at a '#'; a '#' before any '?' ends the path and leaves no args.
    const fragment = rawTarget.indexOf('#', end + 1);
    query = rawTarget.slice(end + 1, fragment < 0 ? length : fragment);
  }

  const raw = end === length ? rawTarget : rawTarget.slice(0, end);
  let path: string = raw;
  if (complex) {
    const normalized = normalizeComplex(raw);
    if (typeof normalized !== 'string') return fail(normalized.refused);
    path = normalized;
  }
  if (semicolon && options.normalizeUriLikeServlet) {
    const stripped = stripServletParams(path);
    if (typeof stripped !== 'string') return fail(stripped.refused);
    path = stripped;
  }
  if (options.deleteUriTailSlash && path.length > 1 && path.charCodeAt(path.length - 1) === SLASH) {
    path = path.slice(0, -1);
  }

  let matchPath = path;
  if (options.matchUriEncodedSlash && escaped && /%2f/i.test(raw) && plainDecode(raw, false) === path) {
    matchPath = plainDecode(raw, true);
  }
  return { ok: true, path, matchPath, query };
}
