/**
 * basic-auth: parsing of the Authorization header, the schemas, and the
 * rewrite phase on real request contexts over consumers and credentials
 * (the gateway's GatewayContext, configurations checked by the registry).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../resources/types.js';
import { PluginHarness, upstreamView } from '../../test/helpers/plugin-harness.js';
import { authContext, consumerSnapshot } from '../../test/helpers/auth-context.js';
import basicAuth, { parseBasicAuthorization } from './basic-auth.js';

const h = new PluginHarness(basicAuth);

const snapshot = consumerSnapshot(
  [
    { username: 'jack', plugins: { 'basic-auth': { username: 'jack', password: 's3cret' } }, labels: { custom_id: 'c-7' } },
    { username: 'alex', plugins: {} },
    { username: 'anon', plugins: {} },
    { username: 'vault', plugins: { 'basic-auth': { username: 'vault', password: '$env://PASSWORD' } } },
  ],
  [{ id: 'alex/credentials/cred-1', value: { id: 'cred-1', plugins: { 'basic-auth': { username: 'alex-basic', password: 'p:wd' } } } }],
);

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

async function rewrite(conf: JsonObject, headers: Record<string, string> = {}) {
  const ctx = authContext('basic-auth', '/p', headers, snapshot);
  const verdict = await h.run('rewrite', conf, ctx);
  return { ctx, verdict, upstream: upstreamView(ctx).headers };
}

const challenge = { 'www-authenticate': 'Basic realm="basic"' };
const deny = (message: string) => [401, { message }, challenge];

describe('basic-auth: parseBasicAuthorization', () => {
  test('username and password, split at the first colon (RFC 7617)', () => {
    assert.deepEqual(parseBasicAuthorization(basic('jack:s3cret')), { ok: true, username: 'jack', password: 's3cret' });
    assert.deepEqual(parseBasicAuthorization(basic('jack:a:b')), { ok: true, username: 'jack', password: 'a:b' });
    assert.deepEqual(parseBasicAuthorization(basic('jack:')), { ok: true, username: 'jack', password: '' });
  });

  test('whitespace inside both parts is dropped, as APISIX does (a trailing newline from `echo | base64` works)', () => {
    assert.deepEqual(parseBasicAuthorization(basic('ja ck:s3\tcret\n')), { ok: true, username: 'jack', password: 's3cret' });
  });

  test('base64 as nginx decodes it: padding optional, anything after "=" ignored, stray characters refused', () => {
    assert.deepEqual(parseBasicAuthorization('Basic amFjazpzM2NyZXQ'), { ok: true, username: 'jack', password: 's3cret' });
    assert.deepEqual(parseBasicAuthorization('Basic YTpi==junk'), { ok: true, username: 'a', password: 'b' });
    assert.equal(parseBasicAuthorization('Basic amFj*azpz').ok, false);
    assert.equal(parseBasicAuthorization('Basic a').ok, false, 'one leftover character');
  });

  test('the scheme must be "Basic" followed by one whitespace and something', () => {
    assert.deepEqual(parseBasicAuthorization('Bearer abc'), { ok: false, reason: 'Invalid authorization header format' });
    assert.equal(parseBasicAuthorization('basic YTpi').ok, false, 'case-sensitive, as APISIX\'s regex');
    assert.equal(parseBasicAuthorization('Basic ').ok, false);
    assert.deepEqual(parseBasicAuthorization(basic('no-colon')), { ok: false, reason: 'Split authorization err: invalid decoded data' });
  });
});

describe('basic-auth: schemas', () => {
  test('route defaults; consumers need a username and a password, the secret field', () => {
    assert.deepEqual(h.conf({}), { hide_credentials: false, realm: 'basic' });
    assert.match(h.check({ anonymous_consumer: '' }) ?? '', /string too short/);
    assert.equal(h.registry.checkPlugins({ 'basic-auth': { username: 'u', password: 'p' } }, 'consumer', false), undefined);
    assert.equal(h.registry.checkPlugins({ 'basic-auth': { username: 'u' } }, 'credential', false), 'failed to check the configuration of plugin basic-auth err: property "password" is required');
    assert.deepEqual(h.registry.encryptFields('basic-auth', 'consumer'), ['password']);
    assert.deepEqual(h.registry.encryptFields('basic-auth', 'route'), []);
    assert.equal(basicAuth.type, 'auth');
    assert.equal(basicAuth.priority, 2520);
  });
});

describe('basic-auth: rewrite', () => {
  test('valid credentials identify the consumer; the upstream learns who it is and keeps the header', async () => {
    const { ctx, verdict, upstream } = await rewrite(h.conf({}), { Authorization: basic('jack:s3cret') });
    assert.equal(verdict, undefined);
    assert.equal(ctx.consumer_name, 'jack');
    assert.deepEqual(upstream, { 'x-consumer-username': 'jack', 'x-consumer-custom-id': 'c-7' });
  });

  test('a credential identifies its consumer; a password with ":" and spaces stripped works', async () => {
    const { ctx, upstream } = await rewrite(h.conf({}), { Authorization: basic('alex-basic:p:w d') });
    assert.equal(ctx.consumer_name, 'alex');
    assert.equal(upstream['x-credential-identifier'], 'cred-1');
  });

  test('the three 401s, each with the Basic challenge', async () => {
    const conf = h.conf({});
    assert.deepEqual((await rewrite(conf)).verdict, deny('Missing authorization in request'));
    assert.deepEqual((await rewrite(conf, { Authorization: 'Bearer x' })).verdict, deny('Invalid authorization in request'));
    assert.deepEqual((await rewrite(conf, { Authorization: basic('nobody:x') })).verdict, deny('Invalid user authorization'));
    assert.deepEqual((await rewrite(conf, { Authorization: basic('jack:wrong') })).verdict, deny('Invalid user authorization'));
    assert.deepEqual((await rewrite(conf, { Authorization: basic('jack:s3cre') })).verdict, deny('Invalid user authorization'));
  });

  test('realm is configurable', async () => {
    const { verdict } = await rewrite(h.conf({ realm: 'shop' }));
    assert.deepEqual(verdict, [401, { message: 'Missing authorization in request' }, { 'www-authenticate': 'Basic realm="shop"' }]);
  });

  test('a password held as a secret reference never matches, not even its own text', async () => {
    const { verdict } = await rewrite(h.conf({}), { Authorization: basic('vault:$env://PASSWORD') });
    assert.deepEqual(verdict, deny('Invalid user authorization'));
  });

  test('hide_credentials drops Authorization once authenticated, and only then', async () => {
    const conf = h.conf({ hide_credentials: true });
    assert.equal((await rewrite(conf, { Authorization: basic('jack:s3cret') })).upstream.authorization, null);
    assert.equal((await rewrite(conf, { Authorization: basic('jack:nope') })).upstream.authorization, undefined);
  });

  test('anonymous_consumer is attached on any failure; a missing one is a 401', async () => {
    const conf = h.conf({ anonymous_consumer: 'anon', hide_credentials: true });
    const attempts: Array<Record<string, string>> = [{}, { Authorization: basic('jack:wrong') }, { Authorization: 'Basic !!' }];
    for (const headers of attempts) {
      const { ctx, verdict, upstream } = await rewrite(conf, headers);
      assert.equal(verdict, undefined);
      assert.equal(ctx.consumer_name, 'anon');
      assert.equal(upstream['x-consumer-username'], 'anon');
    }
    assert.equal((await rewrite(conf, { Authorization: basic('jack:s3cret') })).ctx.consumer_name, 'jack', 'valid credentials still win');
    const missing = await rewrite(h.conf({ anonymous_consumer: 'ghost' }));
    assert.deepEqual(missing.verdict, deny('Invalid user authorization'));
    assert.equal(missing.ctx.consumer, undefined);
  });
});
