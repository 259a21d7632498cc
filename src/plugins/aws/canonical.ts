/**
 * The canonical request of AWS Signature Version 4, built the way AWS
 * *verifies* it (spec/serverless-platforms.md §4.2 "Where the plugin's
 * signing differs from AWS"), not the way APISIX's plugin builds it:
 *
 * - the canonical URI is the path **as sent on the wire**, normalised
 *   (`//`, `.`, `..`), with its trailing `/` kept, and every segment
 *   URI-encoded once more (AWS double-encodes for every service but S3);
 * - header values are trimmed and inner runs of whitespace collapsed; repeated
 *   headers are joined with `,`;
 * - the query is encoded with the RFC 3986 unreserved set and sorted by
 *   byte order of name, then value.
 *
 * Pure string functions; the cryptography is in `sigv4.ts`.
 */

/** A header value as it will be sent: one line, or several lines of the same name. */
export type SignableHeaderValue = string | readonly string[];

/**
 * Headers never signed: hop-by-hop headers, and headers that proxies and
 * AWS's own front ends may add or rewrite on the way (the AWS SDK's
 * "unsignable" list), so that signing them would only cause spurious
 * `InvalidSignatureException`s. `authorization` is the signature itself.
 */
export const UNSIGNED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'proxy-authorization',
  'proxy-connection',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

// RFC 3986 §2.3: everything outside ALPHA / DIGIT / "-" / "." / "_" / "~" is
// percent-encoded (upper-case hex, per byte of UTF-8). encodeURIComponent
// leaves five more characters alone.
const NOT_UNRESERVED_BY_ENCODE_URI = /[!'()*]/g;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeExtra(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

/**
 * Percent-encode everything but the RFC 3986 unreserved characters.
 * A lone surrogate (not representable in UTF-8) is encoded as U+FFFD, as
 * a UTF-8 encoder would write it, instead of throwing.
 *
 * @example
 *   uriEncode('a b/c*'); // 'a%20b%2Fc%2A'
 */
export function uriEncode(text: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    encoded = encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
  return encoded.replace(NOT_UNRESERVED_BY_ENCODE_URI, escapeExtra);
}

/**
 * Canonical URI of a wire path (without query). For every service but S3:
 * resolve `.` and `..`, drop empty segments, keep a trailing `/`, then
 * encode each segment once more — so `/a%20b/` signs as `/a%2520b/`.
 * S3 signs the path exactly as sent.
 *
 * @example
 *   canonicalUri('//example//', 'execute-api'); // '/example/'
 *   canonicalUri('/a%20b', 'lambda');           // '/a%2520b'
 */
export function canonicalUri(wirePath: string, service: string): string {
  if (service === 's3') return wirePath === '' ? '/' : wirePath;
  const segments: string[] = [];
  for (const segment of wirePath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  if (segments.length === 0) return '/';
  const trailing = wirePath.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

/** One decoded query argument; a valueless argument (`?flag`) has the value `''`. */
export type QueryPair = readonly [name: string, value: string];

function comparePairs(a: QueryPair, b: QueryPair): number {
  // Encoded strings are ASCII, so code-unit order is byte order.
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

/**
 * Canonical query string of decoded arguments: names and values
 * RFC 3986-encoded, sorted by name then value (byte order), `name=value`
 * joined with `&`. It is also a valid query string to send, and sending
 * exactly this string guarantees AWS decodes what was signed.
 *
 * @example
 *   canonicalQuery([['b', '2'], ['a', '1 x'], ['flag', '']]); // 'a=1%20x&b=2&flag='
 */
export function canonicalQuery(pairs: Iterable<QueryPair>): string {
  const encoded: QueryPair[] = [];
  for (const [name, value] of pairs) encoded.push([uriEncode(name), uriEncode(value)]);
  if (encoded.length === 0) return '';
  encoded.sort(comparePairs);
  let out = '';
  for (const [name, value] of encoded) out += out === '' ? `${name}=${value}` : `&${name}=${value}`;
  return out;
}

const WHITESPACE_RUNS = /\s+/g;
/** Two whitespace characters in a row, or one that is not a plain space. */
const NEEDS_COLLAPSE = /\s\s|[^\S ]/;

/**
 * Trim a header value and turn each inner run of whitespace into one space
 * (AWS's "Trimall", as AWS's own SDKs apply it).
 */
function trimAll(value: string): string {
  const trimmed = value.trim();
  return NEEDS_COLLAPSE.test(trimmed) ? trimmed.replace(WHITESPACE_RUNS, ' ') : trimmed;
}

export interface CanonicalHeaders {
  /** `name:value\n` lines sorted by name. */
  readonly text: string;
  /** The signed names joined with `;` (the `SignedHeaders` of the authorization). */
  readonly signedHeaders: string;
}

/**
 * Canonical headers of the headers that will be sent (lower-case names),
 * skipping {@link UNSIGNED_HEADERS} and headers without a value.
 *
 * @example
 *   canonicalHeaders({ host: 'h', 'x-amz-date': '20150830T123600Z', 'user-agent': 'curl' });
 *   // { text: 'host:h\nx-amz-date:20150830T123600Z\n', signedHeaders: 'host;x-amz-date' }
 */
export function canonicalHeaders(headers: Readonly<Record<string, SignableHeaderValue | undefined>>): CanonicalHeaders {
  const names: string[] = [];
  for (const name in headers) {
    if (headers[name] !== undefined && !UNSIGNED_HEADERS.has(name)) names.push(name);
  }
  names.sort();
  let text = '';
  for (const name of names) {
    const value = headers[name] as SignableHeaderValue;
    text += `${name}:${typeof value === 'string' ? trimAll(value) : value.map(trimAll).join(',')}\n`;
  }
  return { text, signedHeaders: names.join(';') };
}
