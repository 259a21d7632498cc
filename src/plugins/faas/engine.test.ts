/**
 * defineFaasPlugin's access phase on real request contexts against a real
 * loopback function: the verdict, the auth step, body limits and failures.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../../test/helpers/plugin-harness.js';
import { startHttpDouble, type HttpDouble } from '../../../test/doubles/http-double.js';
import { freePort } from '../../../test/helpers/net.js';
import { GatewayContext } from '../../plugin/context.js';
import { closeFunctionConnections } from './client.js';
import { defineFaasPlugin } from './engine.js';
import type { FaasConf } from './schema.js';

interface TestConf extends FaasConf {
  readonly authorization?: { readonly token?: string };
}

let authorizersMade = 0;
const plugin = defineFaasPlugin<TestConf>({
  name: 'test-faas',
  priority: 1,
  authorizationSchema: { type: 'object', properties: { token: { type: 'string' } } },
  encryptFields: ['authorization.token'],
  authorizer(conf) {
    authorizersMade += 1;
    const token = conf.authorization?.token;
    if (token === undefined) return undefined;
    return (request) => {
      request.headers['x-token'] = token;
      request.query = request.query === '' ? 'signed=1' : `${request.query}&signed=1`;
    };
  },
});
const harness = new PluginHarness(plugin);

/** A request with a body arriving on the client connection. */
function withBody(ctx: GatewayContext, body: string): GatewayContext {
  const req = GatewayContext.coreOf(ctx).req;
  req.headers['content-length'] = String(Buffer.byteLength(body));
  req.push(Buffer.from(body));
  req.push(null);
  return ctx;
}

describe('defineFaasPlugin', () => {
  let fn: HttpDouble;
  after(async () => {
    await closeFunctionConnections();
    await fn.close();
  });

  test('the definition: name, priority, common schema with the authorization sub-schema, secrets', async () => {
    fn = await startHttpDouble((r) => ({
      status: r.path === '/missing' ? 404 : 200,
      headers: [['Content-Type', 'text/plain'], ['Connection', 'keep-alive'], ['Server', 'fn']],
      body: `${r.method} ${r.target} ${r.body.toString()}`,
    }));
    assert.equal(plugin.name, 'test-faas');
    assert.equal(plugin.priority, 1);
    assert.deepEqual(plugin.encryptFields, ['authorization.token']);
    assert.match(harness.check({}) ?? '', /property "function_uri" is required/);
    assert.match(harness.check({ function_uri: 'x', authorization: { token: 1 } }) ?? '', /property "token" validation failed/);
  });

  test('access answers with the function\'s status, body and relayed headers', async () => {
    const conf = harness.conf({ function_uri: `${fn.origin}/base?dropped=1` });
    const verdict = await harness.run('access', conf, harness.request('/x?q=1'));
    assert.ok(Array.isArray(verdict));
    const [status, body, headers] = verdict as [number, Buffer, Record<string, string>];
    assert.equal(status, 200);
    assert.equal(body.toString(), 'GET /base?q=1 ');
    assert.equal(headers['content-type'], 'text/plain');
    for (const dropped of ['connection', 'keep-alive', 'server', 'content-length']) assert.equal(headers[dropped], undefined, dropped);
    assert.equal(fn.last().headers.host, '127.0.0.1', 'Host is the function host without port');

    const missing = await harness.run('access', harness.conf({ function_uri: `${fn.origin}/missing` }), harness.request('/x'));
    assert.equal((missing as [number])[0], 404, 'function errors are relayed');
  });

  test('the authorizer is made once per configuration and may change headers and query', async () => {
    const before = authorizersMade;
    const conf = harness.conf({ function_uri: fn.origin, authorization: { token: 't0k' } });
    await harness.run('access', conf, harness.request('/x?a=1'));
    await harness.run('access', conf, harness.request('/x'));
    assert.equal(authorizersMade - before, 1);
    assert.equal(fn.last().target, '/?signed=1');
    assert.equal(fn.last().headers['x-token'], 't0k');
    assert.equal(fn.requests.at(-2)?.target, '/?a=1&signed=1');
  });

  test('the client body is forwarded; over max_req_body_size → 400 and nothing sent', async () => {
    const conf = harness.conf({ function_uri: fn.origin, max_req_body_size: 4 });
    const ok = await harness.run('access', conf, withBody(harness.request('/x', { method: 'POST' }), 'test'));
    assert.equal((ok as [number, Buffer])[1].toString(), 'POST / test');
    assert.equal(fn.last().headers['content-length'], '4');

    const sent = fn.requests.length;
    assert.equal(await harness.run('access', conf, withBody(harness.request('/x', { method: 'POST' }), 'tests')), 400);
    assert.equal(fn.requests.length, sent);
  });

  test('a call that fails → 503; so does a function_uri that is not an http(s) URL', async () => {
    const port = await freePort();
    assert.equal(await harness.run('access', harness.conf({ function_uri: `http://127.0.0.1:${port}` }), harness.request('/x')), 503);
    assert.equal(await harness.run('access', harness.conf({ function_uri: 'not a url' }), harness.request('/x')), 503);
    assert.equal(await harness.run('access', harness.conf({ function_uri: 'ftp://127.0.0.1/x' }), harness.request('/x')), 503);
  });
});
