/**
 * jwt-auth's checks and rewrite phase on real request contexts (the
 * gateway's GatewayContext over a parsed request), with configurations
 * checked and defaulted by the real plugin registry.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { silentLogger } from '../log.js';
import type { JsonObject } from '../resources/types.js';
import { GatewayContext } from '../plugin/context.js';
import { authContext, consumerSnapshot } from '../../test/helpers/auth-context.js';
import { PluginRegistry } from '../plugin/registry.js';
import { signJwt } from './auth/jwt.js';
import jwtAuth from './jwt-auth.js';

const registry = new PluginRegistry({ definitions: [jwtAuth], enabled: undefined, logger: silentLogger });

function routeConf(conf: JsonObject = {}): JsonObject {
  const error = registry.checkPlugins({ 'jwt-auth': conf }, 'route', true);
  assert.equal(error, undefined);
  return conf;
}

/** A consumer-side configuration as loaded (checked, defaults filled), or the check's error. */
function consumerConf(conf: JsonObject): JsonObject {
  const error = registry.checkPlugins({ 'jwt-auth': conf }, 'consumer', true);
  assert.equal(error, undefined);
  return conf;
}

function consumerError(conf: JsonObject): string | undefined {
  return registry.checkPlugins({ 'jwt-auth': conf }, 'consumer', false);
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

const now = () => Math.floor(Date.now() / 1000);

const consumers = consumerSnapshot(
  [
    { username: 'jack', plugins: { 'jwt-auth': consumerConf({ key: 'jack-key', secret: 'jack-secret' }) } },
    { username: 'hs512', plugins: { 'jwt-auth': consumerConf({ key: 'hs512-key', secret: 'hs512-secret', algorithm: 'HS512' }) } },
    { username: 'b64', plugins: { 'jwt-auth': consumerConf({ key: 'b64-key', secret: 'c2VjcmV0LWJ5dGVz', base64_secret: true }) } },
    { username: 'rsa', plugins: { 'jwt-auth': consumerConf({ key: 'rsa-key', algorithm: 'RS256', public_key: rsa.publicKey }) } },
    { username: 'ec', plugins: { 'jwt-auth': consumerConf({ key: 'ec-key', algorithm: 'ES256', public_key: ec.publicKey, lifetime_grace_period: 30 }) } },
    { username: 'broken', plugins: { 'jwt-auth': consumerConf({ key: 'broken-key', algorithm: 'RS256', public_key: 'not a key' }) } },
    { username: 'anon', plugins: {} },
    { username: 'alex', plugins: {} },
  ],
  [{ id: 'alex/credentials/cred-jwt', value: { id: 'cred-jwt', plugins: { 'jwt-auth': consumerConf({ key: 'alex-key', secret: 'alex-secret' }) } } }],
);

const jackToken = (payload: JsonObject = {}) => signJwt('HS256', 'jack-secret', { key: 'jack-key', exp: now() + 60, ...payload });

function run(conf: JsonObject, target: string, headers: Record<string, string> = {}) {
  const ctx = authContext('jwt-auth', target, headers, consumers);
  const verdict = jwtAuth.rewrite?.(conf, ctx);
  return {
    ctx,
    verdict,
    upstreamHeaders: Object.fromEntries(GatewayContext.requestOf(ctx)?.overrides ?? []),
    upstreamUri: GatewayContext.coreOf(ctx).upstreamUri,
  };
}

const challenge = { 'www-authenticate': 'Bearer realm="jwt"' };
const deny = (message: string) => [401, { message }, challenge];

describe('jwt-auth schemas', () => {
  test('route defaults are APISIX\'s', () => {
    assert.deepEqual(routeConf(), {
      header: 'authorization', query: 'jwt', cookie: 'jwt', hide_credentials: false, key_claim_name: 'key',
      store_in_ctx: false, realm: 'jwt', claims_to_verify: ['exp', 'nbf'],
    });
    assert.match(String(registry.checkPlugins({ 'jwt-auth': { claims_to_verify: ['iat'] } }, 'route', false)), /matches none of the enum values/);
  });

  test('consumer defaults, and the secret is the encrypted field', () => {
    assert.deepEqual(consumerConf({ key: 'k', secret: 's' }), { key: 'k', secret: 's', algorithm: 'HS256', exp: 86400, base64_secret: false, lifetime_grace_period: 0 });
    assert.deepEqual(registry.encryptFields('jwt-auth', 'consumer'), ['secret']);
    assert.deepEqual(registry.encryptFields('jwt-auth', 'route'), []);
  });

  test('consumer checks: secret for HS*, public key for the rest, base64 when announced', () => {
    const prefix = 'failed to check the configuration of plugin jwt-auth err: ';
    assert.equal(consumerError({ secret: 's' }), `${prefix}property "key" is required`);
    assert.equal(consumerError({ key: 'k' }), `${prefix}property "secret" is required when "algorithm" is "HS256" or "HS512"`);
    assert.equal(consumerError({ key: 'k', algorithm: 'HS512' }), `${prefix}property "secret" is required when "algorithm" is "HS256" or "HS512"`);
    assert.equal(consumerError({ key: 'k', algorithm: 'HS384' }), `${prefix}property "secret" is required when "algorithm" is "HS384"`);
    assert.equal(consumerError({ key: 'k', algorithm: 'RS256' }), `${prefix}missing valid public key`);
    assert.equal(consumerError({ key: 'k', algorithm: 'ES256', secret: 's' }), `${prefix}missing valid public key`);
    assert.equal(consumerError({ key: 'k', secret: 'not base64!', base64_secret: true }), `${prefix}base64_secret required but the secret is not in base64 format`);
    assert.equal(consumerError({ key: 'k', secret: 'c2VjcmV0', base64_secret: true }), undefined);
    assert.equal(consumerError({ key: 'k', algorithm: 'RS256', public_key: rsa.publicKey, private_key: 'kept for old configs' }), undefined);
    assert.match(String(consumerError({ key: 'k', secret: 's', algorithm: 'none' })), /matches none of the enum values/);
    assert.match(String(consumerError({ key: '', secret: 's' })), /string too short/);
  });

  test('priority and type', () => {
    assert.equal(jwtAuth.priority, 2510);
    assert.equal(jwtAuth.type, 'auth');
  });
});

describe('jwt-auth: where the token comes from', () => {
  test('Authorization header with "Bearer ", "bearer " or no prefix', () => {
    for (const value of [`Bearer ${jackToken()}`, `bearer ${jackToken()}`, jackToken()]) {
      const { ctx, verdict, upstreamHeaders } = run(routeConf(), '/p', { authorization: value });
      assert.equal(verdict, undefined, value);
      assert.equal(ctx.consumer_name, 'jack');
      assert.equal(upstreamHeaders['x-consumer-username'], 'jack');
      assert.equal(upstreamHeaders.authorization, undefined, 'kept without hide_credentials');
    }
  });

  test('the query argument, then the cookie; the header wins over both', () => {
    assert.equal(run(routeConf(), `/p?jwt=${jackToken()}`).ctx.consumer_name, 'jack');
    assert.equal(run(routeConf(), '/p', { cookie: `a=1; jwt=${jackToken()}` }).ctx.consumer_name, 'jack');
    const alexToken = signJwt('HS256', 'alex-secret', { key: 'alex-key' });
    assert.equal(run(routeConf(), `/p?jwt=${jackToken()}`, { authorization: alexToken }).ctx.consumer_name, 'alex');
    assert.deepEqual(run(routeConf(), '/p?jwt=garbage', { cookie: `jwt=${jackToken()}` }).verdict, deny('JWT token invalid'), 'the query wins over the cookie');
  });

  test('custom header, query, cookie and realm', () => {
    const conf = routeConf({ header: 'X-Token', query: 'tok', cookie: 'session', realm: 'api' });
    assert.equal(run(conf, '/p', { 'x-token': jackToken() }).ctx.consumer_name, 'jack');
    assert.equal(run(conf, `/p?tok=${jackToken()}`).ctx.consumer_name, 'jack');
    assert.equal(run(conf, '/p', { cookie: `session=${jackToken()}` }).ctx.consumer_name, 'jack');
    assert.deepEqual(run(conf, '/p', { authorization: jackToken() }).verdict, [401, { message: 'Missing JWT token in request' }, { 'www-authenticate': 'Bearer realm="api"' }]);
  });

  test('hide_credentials removes the header, the query argument or the cookie', () => {
    const conf = routeConf({ hide_credentials: true });
    assert.equal(run(conf, '/p', { authorization: `Bearer ${jackToken()}` }).upstreamHeaders.authorization, null);
    const query = run(conf, `/p?a=1&jwt=${jackToken()}&b=2`);
    assert.equal(query.ctx.consumer_name, 'jack');
    assert.equal(query.upstreamUri, '/p?a=1&b=2');
    const cookie = run(conf, '/p', { cookie: `a=1; jwt=${jackToken()}; b=2` });
    assert.equal(cookie.ctx.consumer_name, 'jack');
    assert.equal(cookie.upstreamHeaders.cookie, 'a=1; b=2');
    assert.equal(run(conf, '/p', { cookie: `jwt=${jackToken()}` }).upstreamHeaders.cookie, null);
  });
});

describe('jwt-auth: verification and its messages', () => {
  test('no token: "Missing JWT token in request"', () => {
    assert.deepEqual(run(routeConf(), '/p').verdict, deny('Missing JWT token in request'));
    assert.deepEqual(run(routeConf(), '/p', { cookie: 'other=1' }).verdict, deny('Missing JWT token in request'));
  });

  test('not a JWT: "JWT token invalid"', () => {
    for (const headers of [{ authorization: 'Bearer abc' }, { authorization: '' }, { authorization: 'a.b.c' }]) {
      assert.deepEqual(run(routeConf(), '/p', headers).verdict, deny('JWT token invalid'), JSON.stringify(headers));
    }
    assert.deepEqual(run(routeConf(), '/p?jwt').verdict, deny('JWT token invalid'), 'a valueless argument');
  });

  test('no key claim: "missing user key in JWT token"; unknown key: "Invalid user key in JWT token"', () => {
    const noKey = signJwt('HS256', 'jack-secret', { sub: 'x' });
    assert.deepEqual(run(routeConf(), '/p', { authorization: noKey }).verdict, deny('missing user key in JWT token'));
    const unknown = signJwt('HS256', 'jack-secret', { key: 'who' });
    assert.deepEqual(run(routeConf(), '/p', { authorization: unknown }).verdict, deny('Invalid user key in JWT token'));
    const numeric = signJwt('HS256', 'jack-secret', { key: 42 });
    assert.deepEqual(run(routeConf(), '/p', { authorization: numeric }).verdict, deny('Invalid user key in JWT token'));
  });

  test('key_claim_name names the claim that holds the consumer key', () => {
    const conf = routeConf({ key_claim_name: 'iss' });
    const token = signJwt('HS256', 'jack-secret', { iss: 'jack-key' });
    assert.equal(run(conf, '/p', { authorization: token }).ctx.consumer_name, 'jack');
    assert.deepEqual(run(conf, '/p', { authorization: jackToken() }).verdict, deny('missing user key in JWT token'));
  });

  test('a wrong signature, a wrong algorithm or a broken consumer key: "failed to verify jwt"', () => {
    const failed = deny('failed to verify jwt');
    const wrongSecret = signJwt('HS256', 'not-jack', { key: 'jack-key' });
    assert.deepEqual(run(routeConf(), '/p', { authorization: wrongSecret }).verdict, failed);
    const otherAlgorithm = signJwt('HS512', 'jack-secret', { key: 'jack-key' });
    assert.deepEqual(run(routeConf(), '/p', { authorization: otherAlgorithm }).verdict, failed);
    // Algorithm confusion: HS256 keyed with the RS256 consumer's public key text.
    const confused = signJwt('HS256', rsa.publicKey, { key: 'rsa-key' });
    assert.deepEqual(run(routeConf(), '/p', { authorization: confused }).verdict, failed);
    const unsigned = `${jackToken().split('.').slice(0, 2).join('.')}.`;
    assert.deepEqual(run(routeConf(), '/p', { authorization: unsigned }).verdict, failed);
    const toBroken = signJwt('RS256', rsa.privateKey, { key: 'broken-key' });
    assert.deepEqual(run(routeConf(), '/p', { authorization: toBroken }).verdict, failed);
  });

  test('HS512, base64 secrets, RS256 and ES256 consumers', () => {
    assert.equal(run(routeConf(), '/p', { authorization: signJwt('HS512', 'hs512-secret', { key: 'hs512-key' }) }).ctx.consumer_name, 'hs512');
    assert.equal(run(routeConf(), '/p', { authorization: signJwt('HS256', Buffer.from('secret-bytes'), { key: 'b64-key' }) }).ctx.consumer_name, 'b64');
    assert.equal(run(routeConf(), '/p', { authorization: signJwt('RS256', rsa.privateKey, { key: 'rsa-key' }) }).ctx.consumer_name, 'rsa');
    assert.equal(run(routeConf(), '/p', { authorization: signJwt('ES256', ec.privateKey, { key: 'ec-key' }) }).ctx.consumer_name, 'ec');
  });

  test('a credential identifies its consumer and names itself', () => {
    const { ctx, upstreamHeaders } = run(routeConf(), '/p', { authorization: signJwt('HS256', 'alex-secret', { key: 'alex-key' }) });
    assert.equal(ctx.consumer_name, 'alex');
    assert.equal(upstreamHeaders['x-credential-identifier'], 'cred-jwt');
  });

  test('exp and nbf are checked (as claims_to_verify says) with the consumer\'s grace period', () => {
    const failed = deny('failed to verify jwt');
    assert.deepEqual(run(routeConf(), '/p', { authorization: jackToken({ exp: now() - 1 }) }).verdict, failed);
    assert.deepEqual(run(routeConf(), '/p', { authorization: jackToken({ nbf: now() + 60 }) }).verdict, failed);
    assert.deepEqual(run(routeConf(), '/p', { authorization: jackToken({ exp: String(now() + 60) }) }).verdict, failed);
    assert.equal(run(routeConf(), '/p', { authorization: jackToken({ exp: undefined }) }).verdict, undefined, 'a token without exp is accepted');
    assert.equal(run(routeConf({ claims_to_verify: ['nbf'] }), '/p', { authorization: jackToken({ exp: now() - 100 }) }).verdict, undefined);
    // The ES256 consumer allows 30 s of clock skew.
    assert.equal(run(routeConf(), '/p', { authorization: signJwt('ES256', ec.privateKey, { key: 'ec-key', exp: now() - 10 }) }).verdict, undefined);
    assert.deepEqual(run(routeConf(), '/p', { authorization: signJwt('ES256', ec.privateKey, { key: 'ec-key', exp: now() - 60 }) }).verdict, failed);
  });

  test('store_in_ctx keeps the payload for later plugins', () => {
    const { ctx } = run(routeConf({ store_in_ctx: true }), '/p', { authorization: jackToken({ role: 'admin' }) });
    assert.equal((ctx.jwt_auth_payload as JsonObject).role, 'admin');
    assert.equal(run(routeConf(), '/p', { authorization: jackToken() }).ctx.jwt_auth_payload, undefined);
  });

  test('anonymous_consumer is attached when authentication fails, and a missing one is a 401', () => {
    const conf = routeConf({ anonymous_consumer: 'anon' });
    assert.equal(run(conf, '/p').ctx.consumer_name, 'anon');
    assert.equal(run(conf, '/p', { authorization: 'garbage' }).ctx.consumer_name, 'anon');
    assert.equal(run(conf, '/p', { authorization: jackToken() }).ctx.consumer_name, 'jack');
    assert.deepEqual(run(routeConf({ anonymous_consumer: 'ghost' }), '/p').verdict, deny('Invalid user authorization'));
  });
});
