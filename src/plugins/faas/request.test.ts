/**
 * Building the request sent to a function (spec/serverless.md §3.2) from
 * real request contexts: path forwarding, query re-encoding, header rules.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../../test/helpers/plugin-harness.js';
import { GatewayContext } from '../../plugin/context.js';
import { parseQuery } from '../../http/args.js';
import openfunction from '../openfunction.js';
import { buildOutgoingRequest, encodeArgs, encodePathTail, functionPath } from './request.js';

const harness = new PluginHarness(openfunction);

/** A request context as the router leaves it for a route `uri` pattern with `:ext` = `ext`. */
function matched(target: string, ext: string | undefined, headers: Record<string, string> = {}): GatewayContext {
  const ctx = harness.request(target, { headers });
  GatewayContext.coreOf(ctx).matched = { _path: '/azure/*', _method: 'GET', ...(ext === undefined ? {} : { ':ext': ext }) };
  GatewayContext.enter(ctx, 'access', 'openfunction');
  return ctx;
}

describe('functionPath: function_uri path + the tail of a bare * route', () => {
  // The cases of t/plugin/azure-functions.t and t/plugin/openfunction.t.
  const cases: Array<[string, string | undefined, string]> = [
    ['/api', 'httptrigger', '/api/httptrigger'],
    ['/api', 'http/trigger', '/api/http/trigger'],
    ['/api', '', '/api/'],
    ['/', 'openfunction', '/openfunction'],
    ['/api/', 'x', '/api/x'],
    ['/api', '/x/y', '/api/x/y'],
    ['/api/', '/x', '/api//x'],
    ['/api', undefined, '/api'],
    ['/', undefined, '/'],
  ];
  for (const [base, ext, expected] of cases) {
    test(`${base} + ${JSON.stringify(ext)} → ${expected}`, () => assert.equal(functionPath(base, ext), expected));
  }

  test('the decoded tail is percent-encoded again for the request line', () => {
    assert.equal(encodePathTail('a b/ü?#%'), 'a%20b/%C3%BC%3F%23%25');
    assert.equal(encodePathTail("keep-._~!$&'()*+,;=:@/"), "keep-._~!$&'()*+,;=:@/");
  });
});

describe('encodeArgs: the client query re-encoded', () => {
  test('repeated names, valueless and empty values, RFC 3986 escaping', () => {
    assert.equal(encodeArgs(parseQuery('b=a%2Fc&flag&b=x+y&e=&n%20m=%40')), 'b=a%2Fc&b=x%20y&flag&e=&n%20m=%40');
    assert.equal(encodeArgs(parseQuery("s=!*'()")), 's=%21%2A%27%28%29');
  });
});

describe('buildOutgoingRequest', () => {
  test('path and query: function_uri path + tail, client args re-encoded', () => {
    const ctx = matched('/azure/http/trigger?name=AP%20ISIX&x', 'http/trigger');
    const request = buildOutgoingRequest(ctx, '/api', 'localhost', undefined);
    assert.equal(request.method, 'GET');
    assert.equal(request.path, '/api/http/trigger');
    assert.equal(request.query, 'name=AP%20ISIX&x');
    assert.deepEqual([...request.args], [['name', ['AP ISIX']], ['x', [true]]]);
  });

  test('no client args: no query at all', () => {
    const request = buildOutgoingRequest(matched('/azure/', ''), '/api', 'localhost', undefined);
    assert.equal(request.path, '/api/');
    assert.equal(request.query, '');
    assert.equal(request.args.size, 0);
  });

  test('headers: client end-to-end fields kept, hop-by-hop and framing dropped, Host without port', () => {
    const ctx = matched('/azure/x', 'x', {
      Host: 'gw.example:9080',
      'User-Agent': 'curl/8',
      Authorization: 'user-token',
      Connection: 'keep-alive, X-Hop',
      'X-Hop': 'secret',
      'Keep-Alive': 'timeout=5',
      'Transfer-Encoding': 'chunked',
      'Content-Length': '5',
      Expect: '100-continue',
      TE: 'trailers',
      Upgrade: 'websocket',
      'X-Forwarded-Proto': 'spoofed',
    });
    const { headers } = buildOutgoingRequest(ctx, '/api', 'localhost', undefined);
    assert.deepEqual(headers, {
      host: 'localhost',
      'user-agent': 'curl/8',
      authorization: 'user-token',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gw.example:9080',
      'x-forwarded-port': '9080',
    });
  });

  test('X-Forwarded-Port falls back to the listener port when Host has none', () => {
    const { headers } = buildOutgoingRequest(matched('/azure/x', 'x', { Host: 'gw.example' }), '/', 'fn', undefined);
    assert.equal(headers['x-forwarded-port'], '9080');
    assert.equal(headers['x-forwarded-host'], 'gw.example');
  });

  test('headers set by earlier plugins (e.g. the consumer headers of an auth plugin) are forwarded', () => {
    const ctx = matched('/azure/x', 'x', { apikey: 'k' });
    GatewayContext.enter(ctx, 'rewrite', 'key-auth');
    ctx.request.setHeader('apikey', null);
    ctx.request.setHeader('X-Consumer-Username', 'jack');
    const { headers } = buildOutgoingRequest(ctx, '/', 'fn', undefined);
    assert.equal(headers.apikey, undefined);
    assert.equal(headers['x-consumer-username'], 'jack');
  });
});
