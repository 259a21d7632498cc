/**
 * The signer against AWS's published `aws-sig-v4-test-suite` vectors
 * (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service
 * `service`, host example.amazonaws.com), the worked example of
 * spec/serverless-platforms.md §4.2, and the `aws4` package as an
 * independent second implementation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import aws4 from 'aws4';
import { canonicalQuery, type QueryPair, type SignableHeaderValue } from './canonical.js';
import { EMPTY_PAYLOAD_SHA256, SigV4Signer, amzDate, payloadHash } from './sigv4.js';

const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_DATE = '20150830T123600Z';
const SUITE_SCOPE = 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

interface Vector {
  readonly name: string;
  readonly method: string;
  /** Request-target exactly as the vector's request line has it. */
  readonly target: string;
  readonly headers?: Record<string, SignableHeaderValue>;
  readonly body?: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

// Published `Authorization` values of the suite's header-signed requests
// (the `-normalized` variants: every service but S3).
const VECTORS: readonly Vector[] = [
  { name: 'get-vanilla', method: 'GET', target: '/', signedHeaders: 'host;x-amz-date', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-unreserved', method: 'GET', target: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', signedHeaders: 'host;x-amz-date', signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f' },
  { name: 'get-space', method: 'GET', target: '/example space/', signedHeaders: 'host;x-amz-date', signature: '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741' },
  { name: 'get-utf8', method: 'GET', target: '/\u1234', signedHeaders: 'host;x-amz-date', signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' },
  { name: 'get-slash', method: 'GET', target: '//', signedHeaders: 'host;x-amz-date', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-slashes', method: 'GET', target: '//example//', signedHeaders: 'host;x-amz-date', signature: '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84' },
  { name: 'get-slash-dot-slash', method: 'GET', target: '/./', signedHeaders: 'host;x-amz-date', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-relative-relative', method: 'GET', target: '/example1/example2/../..', signedHeaders: 'host;x-amz-date', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-vanilla-empty-query-key', method: 'GET', target: '/?Param1=value1', signedHeaders: 'host;x-amz-date', signature: 'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb' },
  { name: 'get-vanilla-query-order-key-case', method: 'GET', target: '/?Param2=value2&Param1=value1', signedHeaders: 'host;x-amz-date', signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' },
  { name: 'get-vanilla-query-order-value', method: 'GET', target: '/?Param1=value2&Param1=value1', signedHeaders: 'host;x-amz-date', signature: '5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694' },
  { name: 'get-vanilla-query-order-encoded', method: 'GET', target: '/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1', signedHeaders: 'host;x-amz-date', signature: '371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac' },
  {
    name: 'get-vanilla-query-unreserved',
    method: 'GET',
    target: '/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date',
    signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
  },
  { name: 'get-vanilla-utf8-query', method: 'GET', target: '/?\u1234=bar', signedHeaders: 'host;x-amz-date', signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04' },
  {
    name: 'get-header-value-trim',
    method: 'GET',
    target: '/',
    headers: { 'my-header1': ' value1', 'my-header2': '"a   b   c"' },
    signedHeaders: 'host;my-header1;my-header2;x-amz-date',
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
  },
  {
    name: 'get-header-key-duplicate',
    method: 'GET',
    target: '/',
    headers: { 'my-header1': ['value2', 'value2', 'value1'] },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
  },
  {
    name: 'get-header-value-order',
    method: 'GET',
    target: '/',
    headers: { 'my-header1': ['value4', 'value1', 'value3', 'value2'] },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01',
  },
  {
    name: 'post-header-key-sort',
    method: 'POST',
    target: '/',
    headers: { 'my-header1': 'value1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    target: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
];

/** Split a vector's request-target into its path and decoded query pairs. */
function splitTarget(target: string): { path: string; pairs: QueryPair[] } {
  const mark = target.indexOf('?');
  if (mark === -1) return { path: target, pairs: [] };
  const pairs = target.slice(mark + 1).split('&').map((part): QueryPair => {
    const eq = part.indexOf('=');
    return eq === -1 ? [decodeURIComponent(part), ''] : [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))];
  });
  return { path: target.slice(0, mark), pairs };
}

const suiteSigner = new SigV4Signer(SUITE_CREDENTIALS, { region: 'us-east-1', service: 'service' });

describe('SigV4 signer against the aws-sig-v4-test-suite', () => {
  for (const vector of VECTORS) {
    test(vector.name, () => {
      const { path, pairs } = splitTarget(vector.target);
      const signed = suiteSigner.sign({
        method: vector.method,
        path,
        query: canonicalQuery(pairs),
        headers: { ...vector.headers, host: 'example.amazonaws.com', 'x-amz-date': SUITE_DATE },
        payloadHash: payloadHash(vector.body),
      }, SUITE_DATE);
      assert.equal(
        signed.authorization,
        `AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, SignedHeaders=${vector.signedHeaders}, Signature=${vector.signature}`,
        `canonical request:\n${signed.canonicalRequest}`,
      );
    });
  }

  test('get-vanilla: canonical request and string to sign, line by line', () => {
    const signed = suiteSigner.sign({
      method: 'GET', path: '/', query: '', payloadHash: EMPTY_PAYLOAD_SHA256,
      headers: { host: 'example.amazonaws.com', 'x-amz-date': SUITE_DATE },
    }, SUITE_DATE);
    assert.equal(signed.canonicalRequest, [
      'GET', '/', '', 'host:example.amazonaws.com', `x-amz-date:${SUITE_DATE}`, '', 'host;x-amz-date', EMPTY_PAYLOAD_SHA256,
    ].join('\n'));
    assert.equal(signed.stringToSign, [
      'AWS4-HMAC-SHA256', SUITE_DATE, '20150830/us-east-1/service/aws4_request',
      'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    ].join('\n'));
  });
});

describe('SigV4 signer against the worked API Gateway example (spec/serverless-platforms.md §4.2)', () => {
  test('POST /default/fn with a query and a JSON body', () => {
    const signer = new SigV4Signer(SUITE_CREDENTIALS, { region: 'us-west-2', service: 'execute-api' });
    const signed = signer.sign({
      method: 'POST',
      path: '/default/fn',
      query: canonicalQuery([['b', '2'], ['a', '1'], ['x y', 'p/q']]),
      headers: { host: 'abc123.execute-api.us-west-2.amazonaws.com', 'content-type': 'application/json', 'x-amz-date': SUITE_DATE },
      payloadHash: payloadHash('{"k":1}'),
    }, SUITE_DATE);
    assert.equal(signed.canonicalRequest, [
      'POST', '/default/fn', 'a=1&b=2&x%20y=p%2Fq',
      'content-type:application/json', 'host:abc123.execute-api.us-west-2.amazonaws.com', `x-amz-date:${SUITE_DATE}`, '',
      'content-type;host;x-amz-date', 'a0da1fce57d0e4f9f0ae4e4cbe040d34dcc046255c6c8d18e97f55aaed0655f0',
    ].join('\n'));
    assert.equal(signed.stringToSign.split('\n')[3], '454076dab15ecdd706f536cff6dfb0720a295bf5d62d1a47047d1081303af0d0');
    assert.equal(
      signed.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=f8bd750310336325017501eddf81025bd4fedc4bef28593c5dcfa73ceaaaa600',
    );
  });
});

describe('SigV4 signer agrees with the aws4 package', () => {
  const cases: ReadonlyArray<{ name: string; path: string; pairs: QueryPair[]; service: string; body?: string; headers: Record<string, string> }> = [
    {
      name: 'APISIX\'s complex query case, signed for execute-api',
      path: '/default/generic',
      pairs: [['with space', 'a/b c'], ['multi', 'm2'], ['multi', 'm1'], ['flag', ''], ['a', '*'], ['a-', 'x']],
      service: 'execute-api',
      headers: { accept: '*/*', 'x-forwarded-proto': 'http' },
    },
    { name: 'a path with an encoded space and a trailing slash', path: '/stage/a%20b/', pairs: [], service: 'lambda', headers: {} },
    { name: 'a body and its content type', path: '/', pairs: [['q', '\u00e9t\u00e9']], service: 'lambda', body: '{"hello":"world"}', headers: { 'content-type': 'application/json' } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const date = new Date('2024-05-06T07:08:09Z');
      const query = canonicalQuery(c.pairs);
      const host = 'abc123.execute-api.eu-west-1.amazonaws.com';
      const theirs = aws4.sign({
        host, method: 'POST', path: query === '' ? c.path : `${c.path}?${query}`, service: c.service, region: 'eu-west-1',
        headers: { ...c.headers, 'X-Amz-Date': amzDate(date) }, body: c.body ?? '',
      }, SUITE_CREDENTIALS);
      const ours = new SigV4Signer(SUITE_CREDENTIALS, { region: 'eu-west-1', service: c.service }).sign({
        method: 'POST', path: c.path, query,
        headers: { ...c.headers, host, 'x-amz-date': amzDate(date), ...(c.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(c.body)) }) },
        payloadHash: payloadHash(c.body),
      }, amzDate(date));
      assert.equal(ours.authorization, theirs.headers?.Authorization);
    });
  }
});

describe('signer details', () => {
  test('amzDate is UTC, second resolution', () => {
    assert.equal(amzDate(new Date('2015-08-30T12:36:00.999Z')), '20150830T123600Z');
  });

  test('the signing key follows the date (a signer outlives midnight)', () => {
    const signer = new SigV4Signer(SUITE_CREDENTIALS, { region: 'us-east-1', service: 'service' });
    const request = (date: string) => ({
      method: 'GET', path: '/', query: '', payloadHash: EMPTY_PAYLOAD_SHA256,
      headers: { host: 'example.amazonaws.com', 'x-amz-date': date },
    });
    const before = signer.sign(request('20150829T235959Z'), '20150829T235959Z');
    const vanilla = signer.sign(request(SUITE_DATE), SUITE_DATE);
    assert.match(before.authorization, /Credential=AKIDEXAMPLE\/20150829\//);
    assert.match(vanilla.authorization, /Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31$/);
  });

  test('the secret is not visible on the signer', () => {
    const signer = new SigV4Signer(SUITE_CREDENTIALS, { region: 'us-east-1', service: 'service' });
    assert.doesNotMatch(JSON.stringify(signer), /EXAMPLEKEY/);
    assert.equal(Object.values(signer).some((v) => String(v).includes('EXAMPLEKEY')), false);
  });
});
