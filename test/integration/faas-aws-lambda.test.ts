/**
 * aws-lambda through the real gateway, against two AWS stand-ins:
 *
 * - fake-aws (test/doubles/aws.ts), API Gateway's REST mode with a SigV4
 *   verifier that rebuilds the canonical request from what it received:
 *   the source of truth for auth and error texts;
 * - serverless-offline (test/fixtures/sls), a real API Gateway + Lambda
 *   emulation: proxy events, API keys and `{proxy+}` as AWS's own tooling
 *   models them. It does not check SigV4 (spec/serverless-platforms.md §4.6).
 *
 * The serverless-offline suite needs its fixture installed
 * (`npm ci --prefix test/fixtures/sls`); without it the suite fails, naming
 * that command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startAwsDouble, type AwsDouble } from '../doubles/aws.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read AWS's JSON shapes
type Json = any;

const AK = 'AKIDFNGATETEST';
const SECRET = 'fngate/test+secret/0123456789abcdef';
const API_KEY = 'fngate-fake-aws-key';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const SLS_DIR = resolve(import.meta.dirname, '../fixtures/sls');
const SLS_CLI = resolve(SLS_DIR, 'node_modules/serverless/bin/serverless.js');
const SLS_INSTALL = 'npm ci --prefix test/fixtures/sls';
const SLS_API_KEY = 'fngate-sls-api-key-0123456789abcdef';

let gw: GatewayProcess;

async function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Readable } = {}): Promise<Answer> {
  const res = await request(`${gw.proxyUrl}${path}`, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Send until `ok` holds: routes reach the data plane asynchronously. */
async function sendUntil(path: string, ok: (a: Answer) => boolean, options: Parameters<typeof send>[1] = {}): Promise<Answer> {
  let last: Answer | undefined;
  await waitFor(async () => {
    last = await send(path, options);
    return ok(last);
  }, { what: `${options.method ?? 'GET'} ${path} (last: ${last?.status} ${last?.text})` });
  return last as Answer;
}

async function putRoute(id: string, uri: string, conf: Record<string, unknown>): Promise<Json> {
  const res = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, { uri, plugins: { 'aws-lambda': conf }, upstream: { type: 'roundrobin', nodes: {} } });
  assert.ok(res.status === 200 || res.status === 201, `PUT route ${id}: ${res.status} ${res.text}`);
  return res.json;
}

before(async () => {
  gw = await startGatewayProcess();
});
after(async () => {
  await gw.stop();
  gw.cleanup();
});

describe('aws-lambda against fake-aws (API Gateway REST API)', () => {
  let aws: AwsDouble;
  let tamperer: Server;
  let tampererPort: number;

  const iam = { iam: { accesskey: AK, secretkey: SECRET } };
  const lastSent = () => {
    const last = aws.lastRequest();
    assert.ok(last, 'fake-aws received a request');
    return last;
  };

  before(async () => {
    aws = await startAwsDouble({
      mode: 'rest',
      stage: 'default',
      apiKeys: [API_KEY],
      credentials: { [AK]: SECRET },
      routes: [
        { method: 'ANY', path: '/hello', auth: 'apikey', fn: 'hello' },
        { method: 'ANY', path: '/echo', auth: 'iam', fn: 'echo' },
        { method: 'ANY', path: '/proxy/{proxy+}', auth: 'iam', fn: 'echo' },
        { method: 'GET', path: '/teapot', auth: 'none', fn: 'teapot' },
        { method: 'GET', path: '/boom', auth: 'none', fn: 'boom' },
      ],
      functions: {
        hello: () => ({ statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: 'aws lambda invoked\n' }),
        echo: (event: Json) => ({
          statusCode: 200,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ path: event.path, resource: event.resource, pathParameters: event.pathParameters, query: event.multiValueQueryStringParameters, body: event.body, accessKey: event.requestContext.identity.accessKey }),
        }),
        teapot: () => ({ statusCode: 418, headers: { 'X-Teapot': 'short and stout' }, body: 'no coffee' }),
        boom: () => { throw new Error('boom'); },
      },
    });
    // A man in the middle that changes the query on the way to AWS.
    tamperer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = `${aws.url}${req.url ?? '/'}${(req.url ?? '').includes('?') ? '&' : '?'}injected=1`;
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'connection').map(([k, v]) => [k, String(v)]));
        request(url, { method: req.method as 'GET', headers, body: Buffer.concat(chunks) })
          .then(async (r) => {
            res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'text/plain'), 'x-amzn-errortype': String(r.headers['x-amzn-errortype'] ?? '') });
            res.end(Buffer.from(await r.body.arrayBuffer()));
          })
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((r) => tamperer.listen(0, '127.0.0.1', r));
    tampererPort = (tamperer.address() as { port: number }).port;

    await putRoute('aws-key', '/aws/key', { function_uri: `${aws.url}/default/hello`, authorization: { apikey: API_KEY } });
    await putRoute('aws-badkey', '/aws/badkey', { function_uri: `${aws.url}/default/hello`, authorization: { apikey: 'not-a-key' } });
    await putRoute('aws-iam', '/aws/iam', { function_uri: `${aws.url}/default/echo`, authorization: iam });
    await putRoute('aws-wrong-secret', '/aws/wrong-secret', { function_uri: `${aws.url}/default/echo`, authorization: { iam: { accesskey: AK, secretkey: 'not-the-secret' } } });
    await putRoute('aws-noauth', '/aws/noauth', { function_uri: `${aws.url}/default/echo` });
    await putRoute('aws-proxy', '/aws/proxy/*', { function_uri: `${aws.url}/default/proxy`, authorization: iam });
    await putRoute('aws-tampered', '/aws/tampered', { function_uri: `http://127.0.0.1:${tampererPort}/default/echo`, authorization: iam });
    await putRoute('aws-teapot', '/aws/teapot', { function_uri: `${aws.url}/default/teapot` });
    await putRoute('aws-boom', '/aws/boom', { function_uri: `${aws.url}/default/boom` });
    await putRoute('aws-down', '/aws/down', { function_uri: `http://127.0.0.1:${await freePort()}/default/echo`, authorization: iam, timeout: 1000 });
  });
  after(async () => {
    await new Promise<void>((r) => {
      tamperer.closeAllConnections();
      tamperer.close(() => r());
    });
    await aws.close();
  });

  test('apikey: the function answers (body and Content-Length relayed); API Gateway saw the key', async () => {
    const res = await sendUntil('/aws/key', (a) => a.status !== 404);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'aws lambda invoked\n');
    assert.equal(res.headers['content-length'], '19');
    assert.equal(res.headers['content-type'], 'text/plain');
    const sent = lastSent();
    assert.equal(sent.headers['x-api-key'], API_KEY);
    assert.equal(sent.headers.authorization, undefined, 'an API key route is not signed');
    assert.equal(sent.headers.host, '127.0.0.1', 'Host is function_uri\'s host without port (spec §3.2)');
  });

  test('apikey: a key API Gateway does not know → its 403 Forbidden is relayed', async () => {
    const res = await sendUntil('/aws/badkey', (a) => a.status !== 404);
    assert.equal(res.status, 403);
    assert.equal(res.text, '{"message":"Forbidden"}');
    assert.equal(res.headers['x-amzn-errortype'], 'ForbiddenException');
  });

  test('iam: the signature verifies; X-Amz-Date and the Authorization have AWS\'s format', async () => {
    const res = await sendUntil('/aws/iam', (a) => a.status !== 404, { headers: { 'user-agent': 'curl/8.0', 'x-note': 'spaced    value' } });
    assert.equal(res.status, 200, res.text);
    assert.equal((JSON.parse(res.text) as Json).accessKey, AK);
    const sent = lastSent();
    assert.equal(sent.verification?.ok, true);
    assert.match(String(sent.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
    assert.match(
      String(sent.headers.authorization),
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${AK}/\\d{8}/us-east-1/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`),
    );
    assert.match(String(sent.headers['x-amz-content-sha256']), /^[0-9a-f]{64}$/);
  });

  test('iam: a wrong secret → 403 with "the signature we calculated does not match" and AWS\'s canonical strings', async () => {
    const res = await sendUntil('/aws/wrong-secret', (a) => a.status !== 404);
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
    const message = String((JSON.parse(res.text) as Json).message);
    assert.match(message, /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\./);
    assert.match(message, /The Canonical String for this request should have been\n'GET\n\/default\/echo\n/);
  });

  test('iam: a request changed on the way (query) → 403 signature mismatch', async () => {
    const res = await sendUntil('/aws/tampered?a=1', (a) => a.status !== 404);
    assert.equal(res.status, 403, res.text);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.match(res.text, /signature we calculated does not match/);
  });

  test('no authorization on an IAM resource → 403 Missing Authentication Token', async () => {
    const res = await sendUntil('/aws/noauth', (a) => a.status !== 404);
    assert.equal(res.status, 403);
    assert.equal(res.text, '{"message":"Missing Authentication Token"}');
    assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
  });

  test('a client Authorization header is sent as is, unsigned (spec §6.1 rule 2)', async () => {
    const res = await sendUntil('/aws/iam', (a) => a.status !== 404, { headers: { authorization: 'Bearer client-token' } });
    assert.equal(res.status, 403);
    assert.equal(lastSent().headers.authorization, 'Bearer client-token');
    assert.equal(lastSent().headers['x-amz-date'], undefined);
  });

  test('encoded, repeated and valueless query args: the sent query is the signed canonical query', async () => {
    const res = await sendUntil('/aws/iam?with%20space=a%2Fb%20c&multi=m2&multi=m1&flag&a=*&a-=x', (a) => a.status !== 404);
    assert.equal(res.status, 200, res.text);
    const sent = lastSent();
    assert.equal(sent.url, '/default/echo?a=%2A&a-=x&flag=&multi=m1&multi=m2&with%20space=a%2Fb%20c');
    assert.equal(sent.verification?.ok, true);
    assert.match(sent.verification?.canonicalRequest ?? '', /^GET\n\/default\/echo\na=%2A&a-=x&flag=&multi=m1&multi=m2&with%20space=a%2Fb%20c\n/);
    assert.deepEqual((JSON.parse(res.text) as Json).query, { a: ['*'], 'a-': ['x'], flag: [''], multi: ['m1', 'm2'], 'with space': ['a/b c'] });
  });

  test('path forwarding from a `*` route, trailing slash and encoded characters included, still verifies', async () => {
    const cases: ReadonlyArray<readonly [client: string, sent: string, proxy: string]> = [
      ['/aws/proxy/a/b', '/default/proxy/a/b', 'a/b'],
      ['/aws/proxy///a//b', '/default/proxy/a/b', 'a/b'],
      ['/aws/proxy/dir/', '/default/proxy/dir/', 'dir/'],
      ['/aws/proxy/two%20words/x', '/default/proxy/two%20words/x', 'two words/x'],
    ];
    for (const [client, sentPath, proxy] of cases) {
      const res = await sendUntil(client, (a) => a.status !== 404);
      assert.equal(res.status, 200, `${client}: ${res.text}`);
      assert.equal(lastSent().url, sentPath, client);
      assert.equal(lastSent().verification?.ok, true, client);
      assert.deepEqual((JSON.parse(res.text) as Json).pathParameters, { proxy }, client);
    }
  });

  test('a chunked client body reaches AWS with Content-Length, and is signed', async () => {
    await sendUntil('/aws/iam', (a) => a.status === 200);
    const res = await send('/aws/iam', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Readable.from(['first part, ', 'second part']) });
    assert.equal(res.status, 200, res.text);
    const sent = lastSent();
    assert.equal(sent.headers['transfer-encoding'], undefined);
    assert.equal(sent.headers['content-length'], String('first part, second part'.length));
    assert.equal(sent.body.toString(), 'first part, second part');
    assert.equal(sent.verification?.ok, true);
    assert.equal((JSON.parse(res.text) as Json).body, 'first part, second part');
  });

  test('the function\'s 4xx and API Gateway\'s 5xx pass through (status, headers, body)', async () => {
    const teapot = await sendUntil('/aws/teapot', (a) => a.status !== 404);
    assert.equal(teapot.status, 418);
    assert.equal(teapot.headers['x-teapot'], 'short and stout');
    assert.equal(teapot.text, 'no coffee');
    const boom = await sendUntil('/aws/boom', (a) => a.status !== 404);
    assert.equal(boom.status, 502);
    assert.equal(boom.text, '{"message":"Internal server error"}');
    assert.match(String(boom.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
  });

  test('an unreachable function_uri → 503 and a log line naming the plugin', async () => {
    const res = await sendUntil('/aws/down', (a) => a.status !== 404);
    assert.equal(res.status, 503);
    assert.match(res.text, /503 Service Temporarily Unavailable/);
    await waitFor(() => gw.output().includes('failed to process aws-lambda, err:'), { what: 'the failure logged' });
  });

  test('keep-alive: sequential calls reuse one connection', async () => {
    await sendUntil('/aws/iam', (a) => a.status === 200);
    const before = aws.connections();
    for (let i = 0; i < 5; i++) assert.equal((await send(`/aws/iam?i=${i}`)).status, 200);
    assert.equal(aws.connections(), before, 'no new connection was opened');
    const lastFive = aws.requests.slice(-5).map((r) => r.connection);
    assert.equal(new Set(lastFive).size, 1, `connections used: ${lastFive.join(',')}`);
  });

  test('the secrets are encrypted at rest: PUT answers ciphertext, GET plaintext; the log never shows them', async () => {
    const put = await putRoute('aws-secrets', '/aws/secrets', {
      function_uri: `${aws.url}/default/echo`,
      authorization: { apikey: 'plain-api-key', iam: { accesskey: AK, secretkey: SECRET } },
    });
    const stored = put.value.plugins['aws-lambda'].authorization;
    for (const [field, plain] of [[stored.apikey, 'plain-api-key'], [stored.iam.accesskey, AK], [stored.iam.secretkey, SECRET]] as const) {
      assert.notEqual(field, plain);
      assert.match(String(field), BASE64);
    }
    const got = await adminRequest(gw, 'GET', '/apisix/admin/routes/aws-secrets');
    const plain = (got.json as Json).value.plugins['aws-lambda'].authorization;
    assert.equal(plain.apikey, 'plain-api-key');
    assert.equal(plain.iam.accesskey, AK);
    assert.equal(plain.iam.secretkey, SECRET);
    // The route works with the decrypted secrets (the client key wins over the conf key, then it is signed).
    const res = await sendUntil('/aws/secrets', (a) => a.status !== 404, { headers: { 'x-api-key': 'client' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(gw.output().includes(SECRET), false, 'the secret key never reaches the log');
  });
});

describe('aws-lambda against serverless-offline (API Gateway + Lambda emulation)', () => {
  let sls: ChildProcess | undefined;
  let slsOutput = '';
  let httpPort: number;

  const installed = existsSync(SLS_CLI);
  /** Each test fails (rather than being skipped or cancelled) when the fixture is missing, saying how to install it. */
  function requireFixture(): void {
    if (!installed) {
      assert.fail(`serverless-offline is not installed in test/fixtures/sls: run \`${SLS_INSTALL}\` (about 25 s, 280 MB) and run the tests again`);
    }
  }

  before(async () => {
    if (!installed) return;
    let lambdaPort: number;
    let websocketPort: number;
    [httpPort, lambdaPort, websocketPort] = await Promise.all([freePort(), freePort(), freePort()]);
    sls = spawn(process.execPath, [SLS_CLI, 'offline', 'start', '--host', '127.0.0.1', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort), '--websocketPort', String(websocketPort)], {
      cwd: SLS_DIR,
      env: {
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        SLS_INTERACTIVE_SETUP_DISABLE: '1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-used',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    sls.stdout?.on('data', (d: Buffer) => { slsOutput += d.toString(); });
    sls.stderr?.on('data', (d: Buffer) => { slsOutput += d.toString(); });
    await waitFor(async () => {
      if (sls?.exitCode !== null) throw new Error(`serverless-offline exited with ${sls?.exitCode}:\n${slsOutput}`);
      try {
        const res = await request(`http://127.0.0.1:${httpPort}/dev/public`);
        await res.body.dump();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'serverless-offline to serve /dev/public' });

    const base = `http://127.0.0.1:${httpPort}/dev`;
    await putRoute('sls-private', '/sls/private', { function_uri: `${base}/private`, authorization: { apikey: SLS_API_KEY } });
    await putRoute('sls-wrong-key', '/sls/wrong-key', { function_uri: `${base}/private`, authorization: { apikey: 'not-the-key' } });
    await putRoute('sls-proxy', '/sls/proxy/*', { function_uri: `${base}/proxy`, authorization: { apikey: SLS_API_KEY } });
    await putRoute('sls-boom', '/sls/boom', { function_uri: `${base}/boom` });
  });
  after(async () => {
    if (sls && sls.exitCode === null && sls.signalCode === null) {
      const exited = new Promise((r) => sls?.once('exit', r));
      sls.kill('SIGTERM');
      const timer = setTimeout(() => sls?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  });

  test('a private resource with the right API key → 200 with the proxy event fields', async () => {
    requireFixture();
    const res = await sendUntil('/sls/private?a=1&a=2&flag', (a) => a.status !== 404, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-trace': 'yes' }, body: 'hello lambda' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-fixture'], 'sls-echo');
    const event = JSON.parse(res.text) as Json;
    assert.equal(event.resource, '/private');
    assert.equal(event.path, '/private');
    assert.equal(event.httpMethod, 'POST');
    assert.equal(event.stage, 'dev');
    assert.equal(event.headers['x-api-key'], SLS_API_KEY);
    assert.equal(event.headers['x-trace'], 'yes');
    assert.deepEqual(event.queryStringParameters, { a: '2', flag: '' });
    assert.deepEqual(event.multiValueQueryStringParameters, { a: ['1', '2'], flag: [''] });
    assert.equal(event.body, 'hello lambda');
  });

  test('a wrong API key → API Gateway\'s 403 Forbidden, relayed', async () => {
    requireFixture();
    const res = await sendUntil('/sls/wrong-key', (a) => a.status !== 404);
    assert.equal(res.status, 403);
    assert.equal(res.text, '{"message":"Forbidden"}');
    assert.equal(res.headers['x-amzn-errortype'], 'ForbiddenException');
  });

  test('a `*` route forwards its tail to a {proxy+} resource', async () => {
    requireFixture();
    const res = await sendUntil('/sls/proxy/a/b', (a) => a.status !== 404);
    assert.equal(res.status, 200, res.text);
    const event = JSON.parse(res.text) as Json;
    assert.equal(event.resource, '/proxy/{proxy+}');
    assert.equal(event.path, '/proxy/a/b');
    assert.deepEqual(event.pathParameters, { proxy: 'a/b' });
  });

  test('a handler that throws → API Gateway\'s 502, relayed', async () => {
    requireFixture();
    const res = await sendUntil('/sls/boom', (a) => a.status !== 404);
    assert.equal(res.status, 502);
  });
});
