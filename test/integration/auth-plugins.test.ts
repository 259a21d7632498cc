/**
 * key-auth and jwt-auth through the real gateway: consumers and credentials
 * created with the Admin API, requests through the proxy port to a real
 * upstream that echoes what it received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';
import { signJwt } from '../../src/plugins/auth/jwt.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** What the echo upstream saw. */
interface Echo {
  readonly url: string;
  readonly headers: Record<string, string | undefined>;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

describe('auth plugins through the gateway', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;

  before(async () => {
    [gw, up] = await Promise.all([startGatewayProcess(), startUpstream('up')]);
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
  });

  async function admin(method: string, path: string, body: unknown, expected: number) {
    const res = await adminRequest(gw, method, path, body);
    assert.equal(res.status, expected, `${method} ${path}: ${res.text}`);
    return res.json as { value: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary shapes
  }

  async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await request(`${gw.proxyUrl}${path}`, { headers });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  /** GET until `ok` holds (configuration reaches the data plane asynchronously). */
  async function getUntil(path: string, headers: Record<string, string>, ok: (a: Answer) => boolean): Promise<Answer> {
    let last: Answer | undefined;
    await waitFor(async () => {
      last = await get(path, headers);
      return ok(last);
    }, { what: `GET ${path} ${JSON.stringify(headers)} (last: ${last?.status} ${last?.text})` });
    return last as Answer;
  }

  const echoOf = (answer: Answer): Echo => JSON.parse(answer.text) as Echo;

  function route(id: string, uri: string, plugins: Record<string, unknown>) {
    return admin('PUT', `/apisix/admin/routes/${id}`, { uri, plugins, upstream: { type: 'roundrobin', nodes: { [up.node]: 1 } } }, 201);
  }

  function assertDenied(answer: Answer, message: string, challenge: string) {
    assert.equal(answer.status, 401, answer.text);
    assert.equal(answer.text, `${JSON.stringify({ message })}\n`);
    assert.equal(answer.headers['www-authenticate'], challenge);
  }

  describe('key-auth', () => {
    let jackPut: Awaited<ReturnType<typeof admin>>;
    let credPut: Awaited<ReturnType<typeof admin>>;

    before(async () => {
      await admin('PUT', '/apisix/admin/consumers', { username: 'anon' }, 201);
      jackPut = await admin('PUT', '/apisix/admin/consumers', { username: 'jack', plugins: { 'key-auth': { key: 'jack-key' } } }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'alex', labels: { custom_id: 'alex-42' } }, 201);
      credPut = await admin('PUT', '/apisix/admin/consumers/alex/credentials/cred-alex', { plugins: { 'key-auth': { key: 'alex-key' } } }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'bob', plugins: { 'key-auth': { key: 'bob-key' } } }, 201);
      await route('key', '/key/*', { 'key-auth': {} });
      await route('key-hidden', '/key-hidden/*', { 'key-auth': { hide_credentials: true } });
      await route('key-anon', '/key-anon/*', { 'key-auth': { anonymous_consumer: 'anon' } });
      await route('key-meta', '/key-meta/*', { 'key-auth': { _meta: { error_response: { message: 'Missing credential in request' } } } });
    });

    test('the key is stored encrypted: write responses show ciphertext, GET the key', async () => {
      const stored = jackPut.value.plugins['key-auth'].key as string;
      assert.notEqual(stored, 'jack-key');
      assert.match(stored, BASE64);
      assert.equal((await admin('GET', '/apisix/admin/consumers/jack', undefined, 200)).value.plugins['key-auth'].key, 'jack-key');

      const storedCred = credPut.value.plugins['key-auth'].key as string;
      assert.notEqual(storedCred, 'alex-key', 'credentials are encrypted too');
      assert.match(storedCred, BASE64);
      const cred = await admin('GET', '/apisix/admin/consumers/alex/credentials/cred-alex', undefined, 200);
      assert.equal(cred.value.plugins['key-auth'].key, 'alex-key');
    });

    test('no key, a wrong key, then the right key in the header or the query', async () => {
      assertDenied(await getUntil('/key/a', {}, (a) => a.status === 401), 'Missing API key in request', 'apikey realm="key"');
      assertDenied(await get('/key/a', { apikey: 'wrong' }), 'Invalid API key in request', 'apikey realm="key"');

      const viaHeader = await getUntil('/key/a', { apikey: 'jack-key' }, (a) => a.status === 200);
      const echo = echoOf(viaHeader);
      assert.equal(echo.headers['x-consumer-username'], 'jack');
      assert.equal(echo.headers['x-credential-identifier'], undefined);
      assert.equal(echo.headers.apikey, 'jack-key', 'the key is proxied unless hidden');

      const viaQuery = await get('/key/a?x=1&apikey=jack-key');
      assert.equal(viaQuery.status, 200);
      assert.equal(echoOf(viaQuery).url, '/key/a?x=1&apikey=jack-key');
      assert.equal(echoOf(viaQuery).headers['x-consumer-username'], 'jack');
    });

    test('hide_credentials: the upstream sees neither the header nor the query argument', async () => {
      const viaHeader = echoOf(await getUntil('/key-hidden/a', { apikey: 'jack-key' }, (a) => a.status === 200));
      assert.equal(viaHeader.headers.apikey, undefined);
      assert.equal(viaHeader.headers['x-consumer-username'], 'jack');

      const viaQuery = await get('/key-hidden/a?a=1&apikey=jack-key&b=two%20words');
      assert.equal(viaQuery.status, 200, viaQuery.text);
      assert.equal(echoOf(viaQuery).url, '/key-hidden/a?a=1&b=two%20words');
    });

    test('a credential authenticates its consumer, and the upstream learns both', async () => {
      const echo = echoOf(await getUntil('/key/b', { apikey: 'alex-key' }, (a) => a.status === 200));
      assert.equal(echo.headers['x-consumer-username'], 'alex');
      assert.equal(echo.headers['x-credential-identifier'], 'cred-alex');
      assert.equal(echo.headers['x-consumer-custom-id'], 'alex-42');
    });

    test('a key another consumer or credential holds is refused by the Admin API', async () => {
      const dup = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'eve', plugins: { 'key-auth': { key: 'bob-key' } } });
      assert.equal(dup.status, 400);
      assert.deepEqual(dup.json, { error_msg: 'duplicate key of plugin key-auth found with consumer: bob' });

      await admin('PUT', '/apisix/admin/consumers', { username: 'eve' }, 201);
      const dupCred = await adminRequest(gw, 'PUT', '/apisix/admin/consumers/eve/credentials/c1', { plugins: { 'key-auth': { key: 'alex-key' } } });
      assert.equal(dupCred.status, 400);
      assert.deepEqual(dupCred.json, { error_msg: 'duplicate key of plugin key-auth found with credential: cred-alex of consumer: alex' });
    });

    test('_meta.error_response replaces the 401 body', async () => {
      const answer = await getUntil('/key-meta/a', {}, (a) => a.status === 401);
      assert.equal(answer.text, '{"message":"Missing credential in request"}\n');
      assert.equal(answer.headers['www-authenticate'], 'apikey realm="key"', 'the challenge header is kept');
    });

    test('anonymous_consumer: requests without a valid key go through as that consumer', async () => {
      const anonymous = echoOf(await getUntil('/key-anon/a', {}, (a) => a.status === 200));
      assert.equal(anonymous.headers['x-consumer-username'], 'anon');
      assert.equal(echoOf(await get('/key-anon/a', { apikey: 'wrong' })).headers['x-consumer-username'], 'anon');
      assert.equal(echoOf(await get('/key-anon/a', { apikey: 'jack-key' })).headers['x-consumer-username'], 'jack');
    });
  });

  describe('jwt-auth', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const inOneMinute = () => Math.floor(Date.now() / 1000) + 60;
    const hs256 = (payload: Record<string, unknown> = {}) => signJwt('HS256', 'hs256-secret', { key: 'user-hs256', exp: inOneMinute(), ...payload });

    let hs256Put: Awaited<ReturnType<typeof admin>>;

    before(async () => {
      hs256Put = await admin('PUT', '/apisix/admin/consumers', { username: 'u-hs256', plugins: { 'jwt-auth': { key: 'user-hs256', secret: 'hs256-secret' } } }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'u-hs512', plugins: { 'jwt-auth': { key: 'user-hs512', secret: 'hs512-secret', algorithm: 'HS512' } } }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'u-rs256', plugins: { 'jwt-auth': { key: 'user-rs256', algorithm: 'RS256', public_key: rsa.publicKey } } }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'u-es256' }, 201);
      await admin('PUT', '/apisix/admin/consumers/u-es256/credentials/es-cred', { plugins: { 'jwt-auth': { key: 'user-es256', algorithm: 'ES256', public_key: ec.publicKey } } }, 201);
      await route('jwt', '/jwt/*', { 'jwt-auth': {} });
      await route('jwt-hidden', '/jwt-hidden/*', { 'jwt-auth': { hide_credentials: true } });
    });

    test('the secret is stored encrypted: write responses show ciphertext, GET the secret', async () => {
      const conf = hs256Put.value.plugins['jwt-auth'];
      assert.notEqual(conf.secret, 'hs256-secret');
      assert.match(conf.secret as string, BASE64);
      assert.equal(conf.key, 'user-hs256', 'the key is not secret');
      assert.equal((await admin('GET', '/apisix/admin/consumers/u-hs256', undefined, 200)).value.plugins['jwt-auth'].secret, 'hs256-secret');
    });

    test('tokens of HS256, HS512, RS256 and ES256 consumers (the last through a credential)', async () => {
      const tokens: Array<[string, string]> = [
        ['u-hs256', hs256()],
        ['u-hs512', signJwt('HS512', 'hs512-secret', { key: 'user-hs512', exp: inOneMinute() })],
        ['u-rs256', signJwt('RS256', rsa.privateKey, { key: 'user-rs256', exp: inOneMinute() })],
        ['u-es256', signJwt('ES256', ec.privateKey, { key: 'user-es256', exp: inOneMinute() })],
      ];
      for (const [username, token] of tokens) {
        const echo = echoOf(await getUntil('/jwt/a', { authorization: `Bearer ${token}` }, (a) => a.status === 200));
        assert.equal(echo.headers['x-consumer-username'], username);
      }
      const es = echoOf(await get('/jwt/a', { authorization: tokens[3]?.[1] ?? '' }));
      assert.equal(es.headers['x-credential-identifier'], 'es-cred');
    });

    test('the token is also read from the query and the cookie', async () => {
      await getUntil('/jwt/a', { authorization: hs256() }, (a) => a.status === 200);
      assert.equal(echoOf(await get(`/jwt/a?jwt=${hs256()}`)).headers['x-consumer-username'], 'u-hs256');
      assert.equal(echoOf(await get('/jwt/a', { cookie: `theme=dark; jwt=${hs256()}` })).headers['x-consumer-username'], 'u-hs256');
    });

    test('each way of failing has APISIX\'s message', async () => {
      await getUntil('/jwt/a', { authorization: hs256() }, (a) => a.status === 200);
      const challenge = 'Bearer realm="jwt"';
      assertDenied(await get('/jwt/a'), 'Missing JWT token in request', challenge);
      assertDenied(await get('/jwt/a', { authorization: 'Bearer not-a-jwt' }), 'JWT token invalid', challenge);
      assertDenied(await get('/jwt/a', { authorization: signJwt('HS256', 'hs256-secret', { sub: 'x' }) }), 'missing user key in JWT token', challenge);
      assertDenied(await get('/jwt/a', { authorization: signJwt('HS256', 'hs256-secret', { key: 'nobody' }) }), 'Invalid user key in JWT token', challenge);
      assertDenied(await get('/jwt/a', { authorization: signJwt('HS256', 'guessed', { key: 'user-hs256' }) }), 'failed to verify jwt', challenge);
      assertDenied(await get('/jwt/a', { authorization: hs256({ exp: Math.floor(Date.now() / 1000) - 5 }) }), 'failed to verify jwt', challenge);
      assertDenied(await get('/jwt/a', { authorization: signJwt('HS256', rsa.publicKey, { key: 'user-rs256' }) }), 'failed to verify jwt', challenge);
    });

    test('hide_credentials: the upstream sees no token in the header, the query or the cookie', async () => {
      const viaHeader = echoOf(await getUntil('/jwt-hidden/a', { authorization: `Bearer ${hs256()}` }, (a) => a.status === 200));
      assert.equal(viaHeader.headers.authorization, undefined);
      assert.equal(viaHeader.headers['x-consumer-username'], 'u-hs256');
      assert.equal(echoOf(await get(`/jwt-hidden/a?a=1&jwt=${hs256()}`)).url, '/jwt-hidden/a?a=1');
      assert.equal(echoOf(await get('/jwt-hidden/a', { cookie: `theme=dark; jwt=${hs256()}` })).headers.cookie, 'theme=dark');
    });

    test('the Admin API checks the consumer side: a public key for RS256, a secret for HS256', async () => {
      const rs = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'bad', plugins: { 'jwt-auth': { key: 'bad', algorithm: 'RS256' } } });
      assert.equal(rs.status, 400);
      assert.match((rs.json as { error_msg: string }).error_msg, /failed to check the configuration of plugin jwt-auth err: missing valid public key$/);
      const hs = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'bad', plugins: { 'jwt-auth': { key: 'bad' } } });
      assert.equal(hs.status, 400);
      assert.match((hs.json as { error_msg: string }).error_msg, /property "secret" is required when "algorithm" is "HS256" or "HS512"$/);
      const dup = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'bad', plugins: { 'jwt-auth': { key: 'user-hs256', secret: 's' } } });
      assert.deepEqual(dup.json, { error_msg: 'duplicate key of plugin jwt-auth found with consumer: u-hs256' });
    });
  });
});
