/**
 * A SigV4 verifier that works from the request **as received** — raw
 * request-target, raw header lines, raw body — the way AWS's front ends
 * check a signature (spec/serverless-platforms.md §4.5 item 3). It is
 * written independently of fngate's signer (src/plugins/aws/) on purpose:
 * one shared bug must not make both sides agree.
 *
 * Error texts are API Gateway's where they are known (§4.3); the texts of
 * malformed-header, scope and clock errors follow AWS's usual wording but
 * are **unconfirmed**, so tests should assert their status and error type
 * only.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface VerifiableRequest {
  readonly method: string;
  /** Request-target exactly as on the request line (path and query). */
  readonly url: string;
  /** Header lines as received (`IncomingMessage.rawHeaders`). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface VerifierOptions {
  /** Secret access keys by access key id. */
  readonly credentials: Readonly<Record<string, string>>;
  readonly region: string;
  readonly service: string;
  /** Largest accepted distance between the request's date and `now` (ms). */
  readonly clockSkewMs: number;
  /** The verifier's clock (ms since the epoch). */
  readonly now: () => number;
}

export type AwsErrorType =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

export type Verification =
  | { readonly ok: true; readonly accessKey: string; readonly signedHeaders: readonly string[]; readonly canonicalRequest: string }
  | { readonly ok: false; readonly errorType: AwsErrorType; readonly message: string; readonly canonicalRequest?: string };

export const MISSING_TOKEN = 'Missing Authentication Token';
export const INVALID_TOKEN = 'The security token included in the request is invalid.';
export const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. '
  + 'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function fail(errorType: AwsErrorType, message: string, canonicalRequest?: string): Verification {
  return canonicalRequest === undefined ? { ok: false, errorType, message } : { ok: false, errorType, message, canonicalRequest };
}

/** Header values by lower-case name, every line kept. */
function headerLines(rawHeaders: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const list = out.get(name);
    if (list) list.push(rawHeaders[i + 1] as string);
    else out.set(name, [rawHeaders[i + 1] as string]);
  }
  return out;
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Decode `%XX` escapes (not `+`); a malformed escape stays as it is. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Normalised path, trailing `/` kept, each segment encoded once more (every service but S3). */
function canonicalPath(rawPath: string, service: string): string {
  if (service === 's3') return rawPath === '' ? '/' : rawPath;
  const kept: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') kept.pop();
    else kept.push(rfc3986(segment));
  }
  if (kept.length === 0) return '/';
  return `/${kept.join('/')}${rawPath.endsWith('/') ? '/' : ''}`;
}

function canonicalQueryOf(rawQuery: string): string {
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    pairs.push([rfc3986(percentDecode(name)), rfc3986(percentDecode(value))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

function toAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

interface ParsedAuthorization {
  readonly credential: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

function parseAuthorization(value: string): ParsedAuthorization | string {
  const space = value.indexOf(' ');
  const algorithm = space === -1 ? value : value.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    return `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${value}`;
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  if (missing.length > 0) return missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ');
  return { credential: fields.get('Credential') as string, signedHeaders: fields.get('SignedHeaders') as string, signature: fields.get('Signature') as string };
}

/**
 * Check a request's SigV4 `Authorization` header.
 *
 * @example
 *   const v = verifySigV4({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, body },
 *     { credentials: { AKID: 'secret' }, region: 'us-east-1', service: 'execute-api', clockSkewMs: 300_000, now: Date.now });
 *   if (!v.ok) reply(403, { message: v.message }, v.errorType);
 */
export function verifySigV4(request: VerifiableRequest, options: VerifierOptions): Verification {
  const headers = headerLines(request.rawHeaders);
  const authorization = headers.get('authorization')?.[0];
  if (authorization === undefined) return fail('MissingAuthenticationTokenException', MISSING_TOKEN);
  const parsed = parseAuthorization(authorization);
  if (typeof parsed === 'string') return fail('IncompleteSignatureException', parsed);

  const [accessKey = '', scopeDate = '', region = '', service = '', terminator = '', ...rest] = parsed.credential.split('/');
  const secret = options.credentials[accessKey];
  if (secret === undefined) return fail('UnrecognizedClientException', INVALID_TOKEN);
  if (rest.length > 0 || terminator !== 'aws4_request') {
    return fail('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `);
  }
  if (region !== options.region) return fail('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'. `);
  if (service !== options.service) return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${options.service}'. `);

  const amzDateHeader = headers.get('x-amz-date')?.[0];
  const dateHeader = headers.get('date')?.[0];
  let requestMs: number | undefined;
  let requestDate: string;
  if (amzDateHeader !== undefined) {
    requestMs = parseAmzDate(amzDateHeader.trim());
    requestDate = amzDateHeader.trim();
  } else if (dateHeader !== undefined) {
    const parsedMs = Date.parse(dateHeader);
    requestMs = Number.isNaN(parsedMs) ? undefined : parsedMs;
    requestDate = requestMs === undefined ? dateHeader : toAmzDate(requestMs);
  } else {
    return fail('IncompleteSignatureException', `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`);
  }
  if (requestMs === undefined) return fail('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${requestDate}'.`);
  if (scopeDate !== requestDate.slice(0, 8)) {
    return fail('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${requestDate.slice(0, 8)}', from '${requestDate}'.`);
  }
  const now = options.now();
  if (requestMs < now - options.clockSkewMs) {
    return fail('InvalidSignatureException', `Signature expired: ${requestDate} is now earlier than ${toAmzDate(now - options.clockSkewMs)} (${toAmzDate(now)} - ${options.clockSkewMs / 60_000} min.)`);
  }
  if (requestMs > now + options.clockSkewMs) {
    return fail('InvalidSignatureException', `Signature not yet current: ${requestDate} is still later than ${toAmzDate(now + options.clockSkewMs)} (${toAmzDate(now)} + ${options.clockSkewMs / 60_000} min.)`);
  }

  const signedHeaders = parsed.signedHeaders.split(';');
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    return fail('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const values = (headers.get(name) ?? []).map((v) => v.trim().replace(/\s+/g, ' '));
    canonicalHeaders += `${name}:${values.join(',')}\n`;
  }

  const mark = request.url.indexOf('?');
  const rawPath = mark === -1 ? request.url : request.url.slice(0, mark);
  const rawQuery = mark === -1 ? '' : request.url.slice(mark + 1);
  const bodyHash = headers.get('x-amz-content-sha256')?.[0]?.trim() ?? createHash('sha256').update(request.body).digest('hex');
  const canonicalRequest = [
    request.method,
    canonicalPath(rawPath, options.service),
    canonicalQueryOf(rawQuery),
    canonicalHeaders,
    parsed.signedHeaders,
    bodyHash,
  ].join('\n');
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${requestDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  let key = createHmac('sha256', `AWS4${secret}`).update(scopeDate).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(parsed.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail(
      'InvalidSignatureException',
      `${SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
      canonicalRequest,
    );
  }
  return { ok: true, accessKey, signedHeaders, canonicalRequest };
}
