/**
 * Pins fake-aws to spec/serverless-platforms.md §4.3–§4.5, with requests
 * signed by the `aws4` package (an implementation independent of both the
 * double's verifier and fngate's signer) and AWS's published vectors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import aws4 from 'aws4';
import { startAwsDouble, type AwsDouble } from './aws.js';
import { verifySigV4, type VerifierOptions } from './aws-sigv4-verifier.js';

const AK = 'AKIDFAKEAWS';
const SECRET = 'fake-aws-secret-key/0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read AWS's JSON shapes
  readonly json: any;
}

async function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const res = await request(url, { method: (options.method ?? 'GET') as 'GET', headers: options.headers ?? {}, ...(options.body === undefined ? {} : { body: options.body }) });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Send a request signed by aws4 (service/region given). */
function signedSend(double: AwsDouble, path: string, options: {
  method?: string; body?: string; headers?: Record<string, string>; service?: string; region?: string; secret?: string; accessKey?: string;
} = {}): Promise<Answer> {
  const signed = aws4.sign({
    host: `127.0.0.1:${double.port}`,
    method: options.method ?? 'GET',
    path,
    service: options.service ?? 'execute-api',
    region: options.region ?? 'us-east-1',
    headers: { ...options.headers },
    body: options.body ?? '',
  }, { accessKeyId: options.accessKey ?? AK, secretAccessKey: options.secret ?? SECRET });
  const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).map(([k, v]) => [k, String(v)]));
  return send(`${double.url}${path}`, { method: options.method ?? 'GET', headers, ...(options.body === undefined ? {} : { body: options.body }) });
}

const echo = (event: unknown) => ({ statusCode: 200, headers: { 'Content-Type': 'application/json', 'X-Fn': 'echo' }, body: JSON.stringify(event) });

describe('fake-aws, REST mode', () => {
  let aws: AwsDouble;
  before(async () => {
    aws = await startAwsDouble({
      mode: 'rest',
      stage: 'default',
      apiKeys: ['good-key'],
      credentials: { [AK]: SECRET },
      integrationTimeoutMs: 300,
      routes: [
        { method: 'ANY', path: '/open', auth: 'none', fn: 'echo' },
        { method: 'GET', path: '/keyed', auth: 'apikey', fn: 'echo' },
        { method: 'ANY', path: '/signed', auth: 'iam', fn: 'echo' },
        { method: 'ANY', path: '/signed/dir/', auth: 'iam', fn: 'echo' },
        { method: 'ANY', path: '/both', auth: 'apikey+iam', fn: 'echo' },
        { method: 'ANY', path: '/proxy/{proxy+}', auth: 'none', fn: 'echo' },
        { method: 'GET', path: '/items/{id}', auth: 'none', fn: 'echo' },
        { method: 'GET', path: '/boom', auth: 'none', fn: 'boom' },
        { method: 'GET', path: '/malformed', auth: 'none', fn: 'malformed' },
        { method: 'GET', path: '/slow', auth: 'none', fn: 'slow' },
        { method: 'GET', path: '/overtime', auth: 'none', fn: 'overtime' },
        { method: 'GET', path: '/multi', auth: 'none', fn: 'multi' },
      ],
      functions: {
        echo,
        boom: () => { throw new Error('boom'); },
        malformed: () => 'just a string',
        slow: { handler: () => new Promise((r) => setTimeout(() => r(echo({})), 1000)), timeoutMs: 100 },
        overtime: { handler: () => new Promise((r) => setTimeout(() => r(echo({})), 1000)), timeoutMs: 5000 },
        multi: () => ({ statusCode: 201, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] }, body: 'created' }),
      },
    });
  });
  after(() => aws.close());

  test('an unknown stage, resource or method is 403 Missing Authentication Token, not 404', async () => {
    for (const [method, path] of [['GET', '/prod/open'], ['GET', '/default/nope'], ['POST', '/default/keyed'], ['GET', '/']] as const) {
      const res = await send(`${aws.url}${path}`, { method });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.deepEqual(res.json, { message: 'Missing Authentication Token' });
      assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
      assert.equal(res.headers['content-type'], 'application/json');
    }
  });

  test('every response has x-amzn-RequestId (a UUID) and x-amz-apigw-id', async () => {
    const res = await send(`${aws.url}/default/open`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['x-amzn-requestid']), UUID);
    assert.match(String(res.headers['x-amz-apigw-id']), /^\S{16}$/);
  });

  test('API key routes: a missing or unknown x-api-key is 403 Forbidden; a known one passes and reaches the event', async () => {
    for (const headers of [{}, { 'x-api-key': 'bad-key' }] as Array<Record<string, string>>) {
      const res = await send(`${aws.url}/default/keyed`, { headers });
      assert.equal(res.status, 403);
      assert.equal(res.text, '{"message":"Forbidden"}');
      assert.equal(res.headers['x-amzn-errortype'], 'ForbiddenException');
    }
    const ok = await send(`${aws.url}/default/keyed`, { headers: { 'x-api-key': 'good-key' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.requestContext.identity.apiKey, 'good-key');
  });

  test('the proxy event (payload 1.0): stage, path, last query value, valueless args, headers, body', async () => {
    const res = await send(`${aws.url}/default/open?a=1&a=2&flag&sp=x%20y`, { method: 'POST', headers: { 'x-custom': 'v', 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-fn'], 'echo');
    const e = res.json;
    assert.equal(e.resource, '/open');
    assert.equal(e.path, '/open');
    assert.equal(e.httpMethod, 'POST');
    assert.equal(e.requestContext.path, '/default/open');
    assert.equal(e.requestContext.stage, 'default');
    assert.equal(e.requestContext.accountId, '123456789012');
    assert.deepEqual(e.queryStringParameters, { a: '2', flag: '', sp: 'x y' });
    assert.deepEqual(e.multiValueQueryStringParameters, { a: ['1', '2'], flag: [''], sp: ['x y'] });
    assert.equal(e.headers['x-custom'], 'v');
    assert.deepEqual(e.multiValueHeaders['x-custom'], ['v']);
    assert.equal(e.pathParameters, null);
    assert.equal(e.stageVariables, null);
    assert.equal(e.body, 'hello');
    assert.equal(e.isBase64Encoded, false);
  });

  test('{proxy+} and {id} resources fill pathParameters', async () => {
    const proxy = await send(`${aws.url}/default/proxy/a/b`);
    assert.equal(proxy.json.resource, '/proxy/{proxy+}');
    assert.deepEqual(proxy.json.pathParameters, { proxy: 'a/b' });
    const item = await send(`${aws.url}/default/items/42`);
    assert.deepEqual(item.json.pathParameters, { id: '42' });
    assert.equal((await send(`${aws.url}/default/proxy`)).status, 403, '{proxy+} needs at least one segment');
  });

  test('a throw, a malformed result or a function timeout is 502 Internal server error; the integration timeout is 504', async () => {
    for (const path of ['/default/boom', '/default/malformed', '/default/slow']) {
      const res = await send(`${aws.url}${path}`);
      assert.equal(res.status, 502, path);
      assert.deepEqual(res.json, { message: 'Internal server error' });
    }
    const timedOut = await send(`${aws.url}/default/overtime`);
    assert.equal(timedOut.status, 504);
    assert.deepEqual(timedOut.json, { message: 'Endpoint request timed out' });
  });

  test('multiValueHeaders of the result stay multi-valued', async () => {
    const res = await send(`${aws.url}/default/multi`);
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.text, 'created');
  });

  describe('IAM routes (SigV4 verified from the request as received)', () => {
    test('an aws4-signed request passes; the event carries the access key', async () => {
      const res = await signedSend(aws, '/default/signed?b=2&a=1&x%20y=p%2Fq', { method: 'POST', body: '{"k":1}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.requestContext.identity.accessKey, AK);
      assert.equal(aws.lastRequest()?.verification?.ok, true);
    });

    test('no Authorization header: 403 Missing Authentication Token', async () => {
      const res = await send(`${aws.url}/default/signed`);
      assert.equal(res.status, 403);
      assert.deepEqual(res.json, { message: 'Missing Authentication Token' });
      assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
    });

    test('an unknown access key: 403 The security token included in the request is invalid.', async () => {
      const res = await signedSend(aws, '/default/signed', { accessKey: 'AKIDUNKNOWN' });
      assert.equal(res.status, 403);
      assert.deepEqual(res.json, { message: 'The security token included in the request is invalid.' });
      assert.equal(res.headers['x-amzn-errortype'], 'UnrecognizedClientException');
    });

    test('a wrong secret: 403 with the signature mismatch text, the canonical string and the string to sign', async () => {
      const res = await signedSend(aws, '/default/signed?q=1', { secret: 'not-the-secret' });
      assert.equal(res.status, 403);
      assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
      const message = String(res.json.message);
      assert.ok(message.startsWith('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'));
      assert.match(message, /\n\nThe Canonical String for this request should have been\n'GET\n\/default\/signed\nq=1\n/);
      assert.match(message, /\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n\d{8}T\d{6}Z\n\d{8}\/us-east-1\/execute-api\/aws4_request\n[0-9a-f]{64}'\n$/);
    });

    test('a tampered body or query fails the signature', async () => {
      const signed = aws4.sign({ host: `127.0.0.1:${aws.port}`, method: 'POST', path: '/default/signed?a=1', service: 'execute-api', region: 'us-east-1', body: 'original' },
        { accessKeyId: AK, secretAccessKey: SECRET });
      const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'content-length').map(([k, v]) => [k, String(v)]));
      assert.equal((await send(`${aws.url}/default/signed?a=1`, { method: 'POST', headers, body: 'tampered' })).status, 403);
      assert.equal((await send(`${aws.url}/default/signed?a=2`, { method: 'POST', headers, body: 'original' })).status, 403);
      assert.equal((await send(`${aws.url}/default/signed?a=1`, { method: 'POST', headers, body: 'original' })).status, 200);
    });

    test('x-amz-content-sha256, when present, is the payload hash', async () => {
      const hash = createHash('sha256').update('declared').digest('hex');
      const signed = aws4.sign({ host: `127.0.0.1:${aws.port}`, method: 'POST', path: '/default/signed', service: 'execute-api', region: 'us-east-1', body: 'declared', headers: { 'X-Amz-Content-Sha256': hash } },
        { accessKeyId: AK, secretAccessKey: SECRET });
      const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'content-length').map(([k, v]) => [k, String(v)]));
      // The body sent differs (same length: content-length is signed), but the verifier takes the declared hash.
      assert.equal((await send(`${aws.url}/default/signed`, { method: 'POST', headers, body: 'DECLARED' })).status, 200);
    });

    test('a trailing slash is part of the canonical URI (a signature over the stripped path fails)', async () => {
      assert.equal((await signedSend(aws, '/default/signed/dir/')).status, 200);
      const stripped = aws4.sign({ host: `127.0.0.1:${aws.port}`, method: 'GET', path: '/default/signed/dir', service: 'execute-api', region: 'us-east-1' },
        { accessKeyId: AK, secretAccessKey: SECRET });
      const headers = Object.fromEntries(Object.entries(stripped.headers ?? {}).map(([k, v]) => [k, String(v)]));
      const res = await send(`${aws.url}/default/signed/dir/`, { headers });
      assert.equal(res.status, 403);
      assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
    });

    test('the wrong region or service in the scope is refused', async () => {
      assert.equal((await signedSend(aws, '/default/signed', { region: 'eu-west-1' })).headers['x-amzn-errortype'], 'InvalidSignatureException');
      assert.equal((await signedSend(aws, '/default/signed', { service: 'lambda' })).headers['x-amzn-errortype'], 'InvalidSignatureException');
    });

    test('apikey+iam: the signature is checked first, then the key', async () => {
      assert.equal((await send(`${aws.url}/default/both`, { headers: { 'x-api-key': 'good-key' } })).json.message, 'Missing Authentication Token');
      assert.equal((await signedSend(aws, '/default/both')).json.message, 'Forbidden');
      assert.equal((await signedSend(aws, '/default/both', { headers: { 'x-api-key': 'good-key' } })).status, 200);
    });
  });

  test('requests are recorded with their connection; faults force answers', async () => {
    aws.clearRequests();
    await send(`${aws.url}/default/open?x=1`, { headers: { 'x-api-key': 'k' } });
    const rec = aws.lastRequest();
    assert.equal(rec?.url, '/default/open?x=1');
    assert.equal(rec?.headers['x-api-key'], 'k');
    assert.ok((rec?.connection ?? 0) >= 1);

    aws.setFault({ status: 500, body: 'forced', headers: { 'x-forced': '1' } });
    const forced = await send(`${aws.url}/default/open`);
    assert.equal(forced.status, 500);
    assert.equal(forced.text, 'forced');
    assert.equal(forced.headers['x-forced'], '1');

    aws.setFault({ socket: 'close' });
    await assert.rejects(send(`${aws.url}/default/open`));

    aws.setFault({ delayMs: 150 });
    const started = Date.now();
    assert.equal((await send(`${aws.url}/default/open`)).status, 200);
    assert.ok(Date.now() - started >= 140);
    aws.setFault(undefined);
  });
});

describe('fake-aws, HTTP API and function URL modes (payload 2.0)', () => {
  let httpApi: AwsDouble;
  let fnUrl: AwsDouble;
  before(async () => {
    [httpApi, fnUrl] = await Promise.all([
      startAwsDouble({
        mode: 'httpapi',
        credentials: { [AK]: SECRET },
        routes: [
          { method: 'GET', path: '/v2/hello', auth: 'none', fn: 'echo' },
          { method: 'ANY', path: '/v2/signed', auth: 'iam', fn: 'bare' },
        ],
        functions: { echo, bare: () => ({ ok: true }) },
      }),
      startAwsDouble({
        mode: 'function-url',
        credentials: { [AK]: SECRET },
        routes: [{ method: 'ANY', path: '/{proxy+}', auth: 'iam', fn: 'echo' }],
        functions: { echo },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([httpApi.close(), fnUrl.close()]);
  });

  test('an unknown HTTP API route is 404 {"message":"Not Found"}', async () => {
    const res = await send(`${httpApi.url}/v2/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.text, '{"message":"Not Found"}');
  });

  test('event 2.0: routeKey, rawPath, rawQueryString, joined repeated query values, lower-case headers', async () => {
    const res = await send(`${httpApi.url}/v2/hello?q=1&q=2`, { headers: { 'X-Thing': 'v' } });
    assert.equal(res.status, 200);
    const e = res.json;
    assert.equal(e.version, '2.0');
    assert.equal(e.routeKey, 'GET /v2/hello');
    assert.equal(e.rawPath, '/v2/hello');
    assert.equal(e.rawQueryString, 'q=1&q=2');
    assert.deepEqual(e.queryStringParameters, { q: '1,2' });
    assert.equal(e.headers['x-thing'], 'v');
    assert.equal(e.requestContext.stage, '$default');
    assert.equal(e.requestContext.http.method, 'GET');
  });

  test('a result without statusCode is a 200 JSON body', async () => {
    const res = await signedSend(httpApi, '/v2/signed');
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"ok":true}');
  });

  test('function URL: SigV4 for service lambda; every path reaches the function', async () => {
    const ok = await signedSend(fnUrl, '/any/path?x=1', { service: 'lambda' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.routeKey, '$default');
    assert.equal(ok.json.rawPath, '/any/path');
    assert.equal((await send(`${fnUrl.url}/any/path`)).status, 403);
    assert.equal((await signedSend(fnUrl, '/x', { service: 'execute-api' })).status, 403);
  });
});

describe('fake-aws, Lambda Invoke API mode', () => {
  let aws: AwsDouble;
  before(async () => {
    aws = await startAwsDouble({
      mode: 'invoke',
      credentials: { [AK]: SECRET },
      functions: { echo: (event: unknown) => ({ got: event }), boom: () => { throw new TypeError('bad input'); } },
    });
  });
  after(() => aws.close());

  const invokePath = (name: string) => `/2015-03-31/functions/${name}/invocations`;

  test('RequestResponse: 200, the result as JSON, X-Amz-Executed-Version', async () => {
    const res = await signedSend(aws, invokePath('echo'), { method: 'POST', body: '{"a":1}', service: 'lambda' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { got: { a: 1 } });
    assert.equal(res.headers['x-amz-executed-version'], '$LATEST');
  });

  test('a name with an alias or an ARN reaches the same function', async () => {
    for (const name of ['echo:live', 'arn:aws:lambda:us-east-1:123456789012:function:echo']) {
      assert.equal((await signedSend(aws, invokePath(encodeURIComponent(name)), { method: 'POST', body: '{}', service: 'lambda' })).status, 200, name);
    }
  });

  test('a function error is still 200, with X-Amz-Function-Error and the error payload', async () => {
    const res = await signedSend(aws, invokePath('boom'), { method: 'POST', body: '{}', service: 'lambda' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.json.errorMessage, 'bad input');
    assert.equal(res.json.errorType, 'TypeError');
    assert.ok(Array.isArray(res.json.stackTrace));
  });

  test('unknown function: 404 ResourceNotFoundException naming the ARN', async () => {
    const res = await signedSend(aws, invokePath('nope'), { method: 'POST', body: '{}', service: 'lambda' });
    assert.equal(res.status, 404);
    assert.equal(res.headers['x-amzn-errortype'], 'ResourceNotFoundException');
    assert.equal(res.json.Message, 'Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope');
  });

  test('Event is 202 and DryRun 204, both without a body; unsigned is 403', async () => {
    const event = await signedSend(aws, invokePath('echo'), { method: 'POST', body: '{}', service: 'lambda', headers: { 'X-Amz-Invocation-Type': 'Event' } });
    assert.equal(event.status, 202);
    assert.equal(event.text, '');
    const dry = await signedSend(aws, invokePath('echo'), { method: 'POST', body: '{}', service: 'lambda', headers: { 'X-Amz-Invocation-Type': 'DryRun' } });
    assert.equal(dry.status, 204);
    assert.equal((await send(`${aws.url}${invokePath('echo')}`, { method: 'POST', body: '{}' })).status, 403);
  });
});

describe('the verifier against AWS\'s published vectors (aws-sig-v4-test-suite)', () => {
  const options: VerifierOptions = {
    credentials: { AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    region: 'us-east-1',
    service: 'service',
    clockSkewMs: 300_000,
    now: () => Date.parse('2015-08-30T12:36:00Z'),
  };
  const authorization = (signature: string) =>
    `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`;
  const vectors = [
    ['get-vanilla', '/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['get-space', '/example space/', '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741'],
    ['get-utf8', '/\u1234', '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85'],
    ['get-slashes', '//example//', '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84'],
    ['get-vanilla-query-order-value', '/?Param1=value2&Param1=value1', '5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694'],
  ] as const;
  for (const [name, url, signature] of vectors) {
    test(name, () => {
      const v = verifySigV4({
        method: 'GET', url, body: Buffer.alloc(0),
        rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z', 'Authorization', authorization(signature)],
      }, options);
      assert.equal(v.ok, true, v.ok ? '' : v.message);
    });
  }

  test('the clock: more than clockSkewMs away is Signature expired / not yet current', () => {
    const base = { method: 'GET', url: '/', body: Buffer.alloc(0), rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z', 'Authorization', authorization(vectors[0][2])] };
    const late = verifySigV4(base, { ...options, now: () => Date.parse('2015-08-30T12:41:01Z') });
    assert.equal(late.ok, false);
    assert.match(late.ok ? '' : late.message, /^Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \(20150830T124101Z - 5 min\.\)$/);
    const early = verifySigV4(base, { ...options, now: () => Date.parse('2015-08-30T12:30:59Z') });
    assert.match(early.ok ? '' : early.message, /^Signature not yet current: /);
  });

  test('host must be signed', () => {
    const v = verifySigV4({
      method: 'GET', url: '/', body: Buffer.alloc(0),
      rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z', 'Authorization',
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=x-amz-date, Signature=00'],
    }, options);
    assert.equal(v.ok ? '' : v.errorType, 'InvalidSignatureException');
  });
});
