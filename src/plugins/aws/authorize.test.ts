/**
 * The auth decision of spec/serverless.md §6.1 and the signing step, on
 * hand-built outgoing requests; signatures are checked with fake-aws's
 * verifier (an implementation independent of the signer).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../http/args.js';
import type { OutgoingRequest } from '../faas/index.js';
import { verifySigV4 } from '../../../test/doubles/aws-sigv4-verifier.js';
import { awsAuthorizer, type AwsLambdaAuthorization } from './authorize.js';

const IAM = { accesskey: 'AKIDTEST', secretkey: 'test/secret+key', aws_region: 'us-east-1', service: 'execute-api' };
const NOW = new Date('2024-01-01T00:00:00Z');

function outgoing(options: { method?: string; path?: string; query?: string; headers?: Record<string, string>; body?: string } = {}): OutgoingRequest {
  const args = parseQuery(options.query ?? '');
  return {
    method: options.method ?? 'GET',
    path: options.path ?? '/default/fn',
    query: options.query ?? '',
    args,
    headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', ...options.headers },
    body: options.body === undefined ? undefined : Buffer.from(options.body),
  };
}

async function authorize(authorization: AwsLambdaAuthorization | undefined, request: OutgoingRequest): Promise<OutgoingRequest> {
  const step = awsAuthorizer(authorization, () => NOW);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the step ignores ctx
  if (step) await step(request, undefined as any);
  return request;
}

/** Verify the request as it would be put on the wire. */
function verify(request: OutgoingRequest, service = 'execute-api') {
  const rawHeaders = Object.entries(request.headers).flat();
  return verifySigV4(
    { method: request.method, url: request.query === '' ? request.path : `${request.path}?${request.query}`, rawHeaders, body: request.body ?? Buffer.alloc(0) },
    { credentials: { [IAM.accesskey]: IAM.secretkey }, region: 'us-east-1', service, clockSkewMs: 300_000, now: () => NOW.getTime() },
  );
}

describe('auth decision (spec/serverless.md §6.1)', () => {
  test('no authorization: no auth step at all', () => {
    assert.equal(awsAuthorizer(undefined), undefined);
    assert.equal(awsAuthorizer({}), undefined);
  });

  test('1. apikey and no client x-api-key: x-api-key is added and nothing is signed, even with iam', async () => {
    const request = await authorize({ apikey: 'conf-key', iam: IAM }, outgoing({ query: 'a=1' }));
    assert.equal(request.headers['x-api-key'], 'conf-key');
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers['x-amz-date'], undefined);
    assert.equal(request.query, 'a=1');
  });

  test('a client x-api-key is kept, and with iam the request is then signed', async () => {
    const keyOnly = await authorize({ apikey: 'conf-key' }, outgoing({ headers: { 'x-api-key': 'client-key' } }));
    assert.equal(keyOnly.headers['x-api-key'], 'client-key');
    assert.equal(keyOnly.headers.authorization, undefined);
    const signed = await authorize({ apikey: 'conf-key', iam: IAM }, outgoing({ headers: { 'x-api-key': 'client-key' } }));
    assert.equal(signed.headers['x-api-key'], 'client-key');
    assert.match(String(signed.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/20240101\/us-east-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-api-key, Signature=[0-9a-f]{64}$/);
  });

  test('2. a client Authorization is forwarded unchanged and nothing is signed', async () => {
    const request = await authorize({ iam: IAM }, outgoing({ headers: { authorization: 'Bearer client' }, query: 'b=2&a=1' }));
    assert.equal(request.headers.authorization, 'Bearer client');
    assert.equal(request.headers['x-amz-date'], undefined);
    assert.equal(request.query, 'b=2&a=1');
  });

  test('3. iam: x-amz-date, x-amz-content-sha256 and a signature that verifies', async () => {
    const request = await authorize({ iam: IAM }, outgoing({ method: 'POST', body: '{"k":1}', headers: { 'content-type': 'application/json', accept: '*/*' } }));
    assert.equal(request.headers['x-amz-date'], '20240101T000000Z');
    // SHA-256 of the body {"k":1}
    assert.equal(request.headers['x-amz-content-sha256'], 'a0da1fce57d0e4f9f0ae4e4cbe040d34dcc046255c6c8d18e97f55aaed0655f0');
    const v = verify(request);
    assert.equal(v.ok, true, v.ok ? '' : v.message);
  });
});

describe('signing the way AWS verifies', () => {
  test('the query sent is the canonical query (encoded, repeated and valueless args)', async () => {
    // APISIX's test: ?with%20space=a%2Fb%20c&multi=m2&multi=m1&flag&a=*&a-=x
    const request = await authorize({ iam: IAM }, outgoing({ query: 'with%20space=a%2Fb%20c&multi=m2&multi=m1&flag&a=*&a-=x' }));
    assert.equal(request.query, 'a=%2A&a-=x&flag=&multi=m1&multi=m2&with%20space=a%2Fb%20c');
    assert.equal(verify(request).ok, true);
  });

  test('spec §6.2 self-check arguments give its canonical query', async () => {
    const request = await authorize({ iam: IAM }, outgoing({ path: '/generic', query: 'b=2&a=1+x&flag' }));
    assert.equal(request.query, 'a=1%20x&b=2&flag=');
  });

  test('a trailing slash and reserved characters in the path verify (APISIX\'s signer fails both)', async () => {
    for (const path of ['/default/dir/', '/default/a%20b/c%25d', "/default/it's(1)*"]) {
      const v = verify(await authorize({ iam: IAM }, outgoing({ path })));
      assert.equal(v.ok, true, `${path}: ${v.ok ? '' : v.message}`);
    }
  });

  test('headers with inner runs of spaces and user-agent verify; user-agent is not signed', async () => {
    const request = await authorize({ iam: IAM }, outgoing({ headers: { 'x-note': 'a    b', 'user-agent': 'curl/8.0' } }));
    const v = verify(request);
    assert.equal(v.ok, true, v.ok ? '' : v.message);
    assert.deepEqual(v.ok ? v.signedHeaders : [], ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-note']);
  });

  test('a client x-amz-content-sha256 or x-amz-date is replaced by the real one', async () => {
    const request = await authorize({ iam: IAM }, outgoing({ method: 'PUT', body: 'data', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': '19990101T000000Z' } }));
    assert.equal(request.headers['x-amz-date'], '20240101T000000Z');
    assert.equal(request.headers['x-amz-content-sha256'], '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7');
    assert.equal(verify(request).ok, true);
  });

  test('the lambda service scope is used when configured', async () => {
    const request = await authorize({ iam: { ...IAM, service: 'lambda' } }, outgoing({ path: '/' }));
    assert.match(String(request.headers.authorization), /\/us-east-1\/lambda\/aws4_request/);
    assert.equal(verify(request, 'lambda').ok, true);
  });

  test('a wrong secret does not verify', async () => {
    const request = await authorize({ iam: { ...IAM, secretkey: 'wrong' } }, outgoing());
    const v = verify(request);
    assert.equal(v.ok ? '' : v.errorType, 'InvalidSignatureException');
  });
});
