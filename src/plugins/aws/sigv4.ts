/**
 * AWS Signature Version 4 (header form), checked against AWS's published
 * `aws-sig-v4-test-suite` vectors (sigv4.test.ts). The canonical pieces come
 * from `canonical.ts`; this module adds the scope, the string to sign, the
 * derived signing key and the `Authorization` header.
 *
 * Session tokens (`X-Amz-Security-Token`) are not supported: the plugin's
 * configuration has long-term keys only (spec/serverless.md §6).
 */
import { createHash, createHmac } from 'node:crypto';
import { canonicalHeaders, canonicalUri, type SignableHeaderValue } from './canonical.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** SHA-256 of the empty payload, the hash of every bodiless request. */
export const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Hex SHA-256 of a payload (the last line of the canonical request). */
export function payloadHash(body: Buffer | string | undefined): string {
  if (body === undefined || body.length === 0) return EMPTY_PAYLOAD_SHA256;
  return createHash('sha256').update(body).digest('hex');
}

/**
 * `X-Amz-Date` of a moment: ISO 8601 basic format, UTC, second resolution.
 *
 * @example
 *   amzDate(new Date('2015-08-30T12:36:00Z')); // '20150830T123600Z'
 */
export function amzDate(date: Date): string {
  // '2015-08-30T12:36:00.000Z' → '20150830T123600Z'
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SigningScope {
  /** e.g. `us-east-1`. */
  readonly region: string;
  /** e.g. `execute-api` (API Gateway), `lambda` (function URLs, Invoke API). */
  readonly service: string;
}

/** The request as it will go on the wire. */
export interface SignableRequest {
  readonly method: string;
  /** Path as sent (percent-encoded as on the request line), without the query. */
  readonly path: string;
  /**
   * Query string as sent, which must already be canonical
   * (`canonicalQuery()` of the arguments): it is signed as is.
   */
  readonly query: string;
  /**
   * Headers as sent, lower-case names. Must include `host` and
   * `x-amz-date` (equal to the `amzDate` passed to `sign`).
   */
  readonly headers: Readonly<Record<string, SignableHeaderValue | undefined>>;
  /** Hex SHA-256 of the body ({@link payloadHash}). */
  readonly payloadHash: string;
}

export interface SignatureParts {
  readonly canonicalRequest: string;
  readonly stringToSign: string;
  readonly signedHeaders: string;
  readonly signature: string;
  /** Value of the `Authorization` header. */
  readonly authorization: string;
}

/** `<date>/<region>/<service>/aws4_request`. */
export function credentialScope(datestamp: string, scope: SigningScope): string {
  return `${datestamp}/${scope.region}/${scope.service}/aws4_request`;
}

/**
 * The canonical request (SigV4 task 1).
 *
 * @example
 *   canonicalRequest({ method: 'GET', path: '/', query: '', payloadHash: EMPTY_PAYLOAD_SHA256,
 *     headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' } }, 'service');
 */
export function canonicalRequest(request: SignableRequest, service: string): { readonly text: string; readonly signedHeaders: string } {
  const headers = canonicalHeaders(request.headers);
  const text = `${request.method}\n${canonicalUri(request.path, service)}\n${request.query}\n${headers.text}\n${headers.signedHeaders}\n${request.payloadHash}`;
  return { text, signedHeaders: headers.signedHeaders };
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Signs requests with one set of credentials for one region and service.
 * The derived signing key depends only on the date: it is kept until the
 * date changes, so a request costs one HMAC (of the string to sign), not five.
 *
 * The secret lives in a private field: the signer can be logged or
 * inspected without revealing it.
 *
 * @example
 *   const signer = new SigV4Signer({ accessKeyId: 'AKID', secretAccessKey: 'secret' },
 *     { region: 'us-east-1', service: 'execute-api' });
 *   const date = amzDate(new Date());
 *   const { authorization } = signer.sign({ method: 'GET', path: '/default/fn', query: '',
 *     headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', 'x-amz-date': date },
 *     payloadHash: EMPTY_PAYLOAD_SHA256 }, date);
 */
export class SigV4Signer {
  readonly #accessKeyId: string;
  readonly #secretAccessKey: string;
  readonly scope: SigningScope;
  #keyDatestamp = '';
  #signingKey: Buffer | undefined;

  constructor(credentials: AwsCredentials, scope: SigningScope) {
    this.#accessKeyId = credentials.accessKeyId;
    this.#secretAccessKey = credentials.secretAccessKey;
    this.scope = scope;
  }

  /** Sign `request` for the moment `date` (an `X-Amz-Date` value, also in `request.headers`). */
  sign(request: SignableRequest, date: string): SignatureParts {
    const datestamp = date.slice(0, 8);
    const scope = credentialScope(datestamp, this.scope);
    const canonical = canonicalRequest(request, this.scope.service);
    const stringToSign = `${ALGORITHM}\n${date}\n${scope}\n${createHash('sha256').update(canonical.text, 'utf8').digest('hex')}`;
    const signature = createHmac('sha256', this.#keyFor(datestamp)).update(stringToSign, 'utf8').digest('hex');
    return {
      canonicalRequest: canonical.text,
      stringToSign,
      signedHeaders: canonical.signedHeaders,
      signature,
      authorization: `${ALGORITHM} Credential=${this.#accessKeyId}/${scope}, SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`,
    };
  }

  /** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
  #keyFor(datestamp: string): Buffer {
    if (this.#signingKey !== undefined && this.#keyDatestamp === datestamp) return this.#signingKey;
    const kDate = hmac(`AWS4${this.#secretAccessKey}`, datestamp);
    const kRegion = hmac(kDate, this.scope.region);
    const kService = hmac(kRegion, this.scope.service);
    this.#signingKey = hmac(kService, 'aws4_request');
    this.#keyDatestamp = datestamp;
    return this.#signingKey;
  }
}
