/**
 * aws-lambda in-process: its schema through the real plugin registry, and
 * its access phase on the gateway's request context against fake-aws (a
 * real loopback server with a SigV4 verifier).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import { startAwsDouble, type AwsDouble } from '../../test/doubles/aws.js';
import { GatewayContext } from '../plugin/context.js';
import { closeFunctionConnections } from './faas/index.js';
import awsLambda, { AWS_LAMBDA_PRIORITY } from './aws-lambda.js';

const harness = new PluginHarness(awsLambda);

describe('aws-lambda schema (spec/serverless.md §3.1, §6)', () => {
  test('name, priority, phase and secret fields', () => {
    assert.equal(awsLambda.name, 'aws-lambda');
    assert.equal(AWS_LAMBDA_PRIORITY, -1899);
    assert.equal(awsLambda.priority, -1899);
    assert.equal(typeof awsLambda.access, 'function');
    assert.deepEqual(awsLambda.encryptFields, ['authorization.apikey', 'authorization.iam.accesskey', 'authorization.iam.secretkey']);
  });

  test('iam with both keys is valid and gets the region and service defaults', () => {
    const conf = harness.conf({ function_uri: 'https://x.execute-api.us-east-1.amazonaws.com/default', authorization: { iam: { accesskey: 'a', secretkey: 's' } } });
    assert.deepEqual(conf.authorization, { iam: { accesskey: 'a', secretkey: 's', aws_region: 'us-east-1', service: 'execute-api' } });
    assert.equal(conf.timeout, 3000);
    assert.equal(conf.keepalive, true);
  });

  test('APISIX\'s validation messages', () => {
    assert.equal(
      harness.check({ function_uri: 'http://x', authorization: { iam: { secretkey: 's' } } }),
      'failed to check the configuration of plugin aws-lambda err: property "authorization" validation failed: property "iam" validation failed: property "accesskey" is required',
    );
    assert.match(String(harness.check({ authorization: { apikey: 'k' } })), /property "function_uri" is required$/);
    assert.match(String(harness.check({ function_uri: 'http://x', authorization: { apikey: 1 } })), /property "authorization" validation failed: property "apikey" validation failed: wrong type: expected string, got number$/);
  });
});

describe('aws-lambda access phase against fake-aws', () => {
  let aws: AwsDouble;
  before(async () => {
    aws = await startAwsDouble({
      mode: 'rest',
      stage: 'default',
      apiKeys: ['the-key'],
      credentials: { AKIDUNIT: 'unit-secret' },
      routes: [
        { method: 'ANY', path: '/keyed', auth: 'apikey', fn: 'echo' },
        { method: 'ANY', path: '/iam/{proxy+}', auth: 'iam', fn: 'echo' },
      ],
      functions: { echo: (event: { path: string; pathParameters: unknown }) => ({ statusCode: 200, body: JSON.stringify({ path: event.path, pathParameters: event.pathParameters }) }) },
    });
  });
  after(async () => {
    await closeFunctionConnections();
    await aws.close();
  });

  async function access(conf: Record<string, unknown>, target: string, ext?: string) {
    const ctx = harness.request(target, { headers: { host: 'gw.example:9080', 'user-agent': 'unit', accept: '*/*' } });
    if (ext !== undefined) GatewayContext.coreOf(ctx).matched = { _path: '/aws/*', _method: 'GET', ':ext': ext };
    const verdict = await harness.run('access', harness.conf(conf), ctx) as [number, Buffer, Record<string, unknown>];
    return { status: verdict[0], body: verdict[1].toString(), headers: verdict[2] };
  }

  test('apikey: API Gateway sees the configured x-api-key', async () => {
    const res = await access({ function_uri: `${aws.url}/default/keyed`, authorization: { apikey: 'the-key' } }, '/aws');
    assert.equal(res.status, 200, res.body);
    assert.equal(aws.lastRequest()?.headers['x-api-key'], 'the-key');
    assert.equal(aws.lastRequest()?.headers.host, '127.0.0.1', 'Host is function_uri\'s host without port (spec §3.2)');
  });

  test('iam: path forwarding with a trailing slash and an encoded space verifies', async () => {
    const conf = { function_uri: `${aws.url}/default/iam`, authorization: { iam: { accesskey: 'AKIDUNIT', secretkey: 'unit-secret' } } };
    const res = await access(conf, '/aws/a%20b/c/?z=1&y', 'a b/c/');
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { path: '/iam/a b/c/', pathParameters: { proxy: 'a b/c/' } });
    const sent = aws.lastRequest();
    assert.equal(sent?.url, '/default/iam/a%20b/c/?y=&z=1');
    assert.equal(sent?.verification?.ok, true);
  });

  test('iam with a wrong secret: AWS\'s 403 is relayed', async () => {
    const conf = { function_uri: `${aws.url}/default/iam`, authorization: { iam: { accesskey: 'AKIDUNIT', secretkey: 'nope' } } };
    const res = await access(conf, '/aws/x', 'x');
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.match(res.body, /The request signature we calculated does not match the signature you provided/);
  });
});
