/**
 * key-auth's rewrite phase on real request contexts (the gateway's
 * GatewayContext over a parsed request), with configurations checked and
 * defaulted by the real plugin registry.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log.js';
import type { JsonObject } from '../resources/types.js';
import { GatewayContext } from '../plugin/context.js';
import { authContext, consumerSnapshot } from '../../test/helpers/auth-context.js';
import { PluginRegistry } from '../plugin/registry.js';
import keyAuth from './key-auth.js';

const registry = new PluginRegistry({ definitions: [keyAuth], enabled: undefined, logger: silentLogger });

/** A route configuration as the gateway loads it: checked, defaults filled. */
function routeConf(conf: JsonObject = {}): JsonObject {
  const error = registry.checkPlugins({ 'key-auth': conf }, 'route', true);
  assert.equal(error, undefined);
  return conf;
}

const consumers = consumerSnapshot(
  [
    { username: 'jack', plugins: { 'key-auth': { key: 'jack-key' } }, labels: { custom_id: 'c-42' } },
    { username: 'alex', plugins: {} },
    { username: 'anon', plugins: {} },
    { username: 'env', plugins: { 'key-auth': { key: '$env://KEY' } } },
  ],
  [{ id: 'alex/credentials/cred-1', value: { id: 'cred-1', plugins: { 'key-auth': { key: 'alex-key' } } } }],
);

function run(conf: JsonObject, target: string, headers: Record<string, string> = {}, snapshot = consumers) {
  const ctx = authContext('key-auth', target, headers, snapshot);
  const verdict = keyAuth.rewrite?.(conf, ctx);
  const request = GatewayContext.requestOf(ctx);
  return {
    ctx,
    verdict,
    /** Headers as sent upstream, changed ones only (null: removed). */
    upstreamHeaders: Object.fromEntries(request?.overrides ?? []),
    upstreamUri: GatewayContext.coreOf(ctx).upstreamUri,
  };
}

const challenge = { 'www-authenticate': 'apikey realm="key"' };

/** The status of a verdict (`[status, body, headers]`). */
function statusOf(verdict: unknown): unknown {
  return Array.isArray(verdict) ? verdict[0] : verdict;
}

describe('key-auth schemas', () => {
  test('route defaults are APISIX\'s', () => {
    assert.deepEqual(routeConf(), { header: 'apikey', query: 'apikey', realm: 'key', hide_credentials: false, bearer_token: false });
  });

  test('a consumer needs a string key, which is the secret field', () => {
    assert.equal(registry.checkPlugins({ 'key-auth': { key: 'k' } }, 'consumer', false), undefined);
    assert.equal(registry.checkPlugins({ 'key-auth': {} }, 'credential', false), 'failed to check the configuration of plugin key-auth err: property "key" is required');
    assert.equal(
      registry.checkPlugins({ 'key-auth': { key: 1 } }, 'consumer', false),
      'failed to check the configuration of plugin key-auth err: property "key" validation failed: wrong type: expected string, got number',
    );
    assert.deepEqual(registry.encryptFields('key-auth', 'consumer'), ['key']);
    assert.deepEqual(registry.encryptFields('key-auth', 'credential'), ['key']);
    assert.deepEqual(registry.encryptFields('key-auth', 'route'), []);
  });

  test('anonymous_consumer must not be empty', () => {
    assert.match(String(registry.checkPlugins({ 'key-auth': { anonymous_consumer: '' } }, 'route', false)), /string too short/);
  });

  test('priority and type', () => {
    assert.equal(keyAuth.priority, 2500);
    assert.equal(keyAuth.type, 'auth');
  });
});

describe('key-auth rewrite', () => {
  test('a key in the header identifies the consumer; the upstream learns who it is', () => {
    const { ctx, verdict, upstreamHeaders } = run(routeConf(), '/p', { apikey: 'jack-key' });
    assert.equal(verdict, undefined);
    assert.equal(ctx.consumer_name, 'jack');
    assert.equal(ctx.consumer?.username, 'jack');
    assert.deepEqual(upstreamHeaders, { 'x-consumer-username': 'jack', 'x-consumer-custom-id': 'c-42' });
  });

  test('a key in the query works when the header is absent; the header wins when both are there', () => {
    assert.equal(run(routeConf(), '/p?apikey=jack-key').ctx.consumer_name, 'jack');
    const both = run(routeConf(), '/p?apikey=jack-key', { apikey: 'alex-key' });
    assert.equal(both.ctx.consumer_name, 'alex');
  });

  test('a credential identifies its consumer and names itself', () => {
    const { ctx, upstreamHeaders } = run(routeConf(), '/p', { apikey: 'alex-key' });
    assert.equal(ctx.consumer_name, 'alex');
    assert.equal(ctx.consumer?.credential_id, 'cred-1');
    assert.equal(upstreamHeaders['x-credential-identifier'], 'cred-1');
  });

  test('no key: 401 "Missing API key in request" with the apikey challenge', () => {
    assert.deepEqual(run(routeConf(), '/p').verdict, [401, { message: 'Missing API key in request' }, challenge]);
  });

  test('an unknown, empty or valueless key: 401 "Invalid API key in request"', () => {
    const invalid = [401, { message: 'Invalid API key in request' }, challenge];
    assert.deepEqual(run(routeConf(), '/p', { apikey: 'nope' }).verdict, invalid);
    assert.deepEqual(run(routeConf(), '/p', { apikey: '' }).verdict, invalid);
    assert.deepEqual(run(routeConf(), '/p?apikey').verdict, invalid);
    assert.deepEqual(run(routeConf(), '/p?apikey=').verdict, invalid);
  });

  test('a consumer whose key is a secret reference cannot be matched by sending the reference', () => {
    assert.equal(statusOf(run(routeConf(), '/p', { apikey: '$env://KEY' }).verdict), 401);
  });

  test('custom header, query and realm', () => {
    const conf = routeConf({ header: 'X-Api-Token', query: 'token', realm: 'shop' });
    assert.equal(run(conf, '/p', { 'x-api-token': 'jack-key' }).ctx.consumer_name, 'jack');
    assert.equal(run(conf, '/p?token=jack-key').ctx.consumer_name, 'jack');
    assert.deepEqual(run(conf, '/p?apikey=jack-key').verdict, [401, { message: 'Missing API key in request' }, { 'www-authenticate': 'apikey realm="shop"' }]);
  });

  test('hide_credentials removes the header that carried the key', () => {
    const { upstreamHeaders, upstreamUri } = run(routeConf({ hide_credentials: true }), '/p?apikey=other', { apikey: 'jack-key' });
    assert.equal(upstreamHeaders.apikey, null);
    assert.equal(upstreamUri, undefined, 'the query string is left alone');
  });

  test('hide_credentials removes the query argument and keeps the other arguments', () => {
    const { ctx, upstreamHeaders, upstreamUri } = run(routeConf({ hide_credentials: true }), '/p?a=1&apikey=jack-key&b=%20two');
    assert.equal(ctx.consumer_name, 'jack');
    assert.equal(upstreamUri, '/p?a=1&b=%20two');
    assert.equal(ctx.var.args, 'a=1&b=%20two');
    assert.equal(upstreamHeaders.apikey, undefined);
    assert.equal(run(routeConf({ hide_credentials: true }), '/p?apikey=jack-key').upstreamUri, '/p');
  });

  test('hide_credentials keeps an invalid key (it is only hidden once it proved valid)', () => {
    const { upstreamHeaders } = run(routeConf({ hide_credentials: true }), '/p', { apikey: 'nope' });
    assert.equal(upstreamHeaders.apikey, undefined);
  });

  test('bearer_token reads "Authorization: Bearer <key>"', () => {
    const conf = routeConf({ bearer_token: true, hide_credentials: true });
    const ok = run(conf, '/p', { authorization: 'Bearer jack-key' });
    assert.equal(ok.ctx.consumer_name, 'jack');
    assert.equal(ok.upstreamHeaders.authorization, null);
    assert.deepEqual(run(conf, '/p', { authorization: 'Basic amFjaw==' }).verdict, [401, { message: 'Invalid Bearer token format' }, { 'www-authenticate': 'Bearer realm="key"' }]);
    assert.equal(run(conf, '/p?apikey=jack-key').ctx.consumer_name, 'jack', 'the query still works, without a prefix');
  });

  test('anonymous_consumer is attached when authentication fails for any reason', () => {
    const conf = routeConf({ anonymous_consumer: 'anon' });
    const attempts: Array<Record<string, string>> = [{}, { apikey: 'nope' }];
    for (const headers of attempts) {
      const { ctx, verdict, upstreamHeaders } = run(conf, '/p', headers);
      assert.equal(verdict, undefined);
      assert.equal(ctx.consumer_name, 'anon');
      assert.equal(upstreamHeaders['x-consumer-username'], 'anon');
      assert.equal(upstreamHeaders['x-credential-identifier'], undefined);
    }
    assert.equal(run(conf, '/p', { apikey: 'jack-key' }).ctx.consumer_name, 'jack', 'a valid key still wins');
  });

  test('an anonymous_consumer that does not exist: 401 "Invalid user authorization"', () => {
    const { ctx, verdict } = run(routeConf({ anonymous_consumer: 'ghost' }), '/p');
    assert.deepEqual(verdict, [401, { message: 'Invalid user authorization' }, challenge]);
    assert.equal(ctx.consumer, undefined);
  });

  test('a new configuration (new consumers array) is looked up afresh', () => {
    const first = consumerSnapshot([{ username: 'jack', plugins: { 'key-auth': { key: 'old' } } }]);
    const second = consumerSnapshot([{ username: 'jack', plugins: { 'key-auth': { key: 'new' } } }]);
    const conf = routeConf();
    assert.equal(run(conf, '/p', { apikey: 'old' }, first).ctx.consumer_name, 'jack');
    assert.equal(statusOf(run(conf, '/p', { apikey: 'old' }, second).verdict), 401);
    assert.equal(run(conf, '/p', { apikey: 'new' }, second).ctx.consumer_name, 'jack');
  });
});
