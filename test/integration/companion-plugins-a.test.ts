/**
 * basic-auth, cors, request-id, real-ip and uri-blocker through the real
 * gateway: configuration written with the Admin API (and refused there when
 * bad), requests through the proxy port to a real upstream that echoes what
 * it received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

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

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

describe('companion plugins through the gateway', () => {
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

  async function send(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
    const res = await request(`${gw.proxyUrl}${path}`, { method, headers });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  /** Create a route and wait until the data plane serves it (anything but the router's 404). */
  async function route(id: string, uri: string, plugins: Record<string, unknown>, probe = uri.replace('*', 'probe')): Promise<void> {
    await admin('PUT', `/apisix/admin/routes/${id}`, { uri, plugins, upstream: { type: 'roundrobin', nodes: { [up.node]: 1 } } }, 201);
    await waitFor(async () => (await send(probe)).status !== 404, { what: `route ${id}` });
  }

  /** The Admin API's refusal of a route with `plugins`. */
  async function refused(plugins: Record<string, unknown>): Promise<string> {
    const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/refused', { uri: '/refused', plugins, upstream: { nodes: { [up.node]: 1 } } });
    assert.equal(res.status, 400, res.text);
    return (res.json as { error_msg: string }).error_msg;
  }

  const echoOf = (answer: Answer): Echo => JSON.parse(answer.text) as Echo;

  describe('basic-auth', () => {
    let credential: Awaited<ReturnType<typeof admin>>;

    before(async () => {
      await admin('PUT', '/apisix/admin/consumers', { username: 'anon' }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'jack', labels: { custom_id: 'jack-7' } }, 201);
      credential = await admin('PUT', '/apisix/admin/consumers/jack/credentials/cred-jack', { plugins: { 'basic-auth': { username: 'jack', password: 'jack-pass' } } }, 201);
      await admin('PUT', '/apisix/admin/consumers', { username: 'bob', plugins: { 'basic-auth': { username: 'bob', password: 'bob-pass' } } }, 201);
      await route('ba', '/ba/*', { 'basic-auth': { hide_credentials: true } });
      await route('ba-anon', '/ba-anon/*', { 'basic-auth': { anonymous_consumer: 'anon', realm: 'shop' } });
    });

    test('no credentials, bad ones, then good ones (credential and consumer)', async () => {
      const missing = await send('/ba/x');
      assert.equal(missing.status, 401);
      assert.equal(missing.text, '{"message":"Missing authorization in request"}\n');
      assert.equal(missing.headers['www-authenticate'], 'Basic realm="basic"');
      assert.equal((await send('/ba/x', { authorization: 'Basic %%%' })).text, '{"message":"Invalid authorization in request"}\n');
      assert.equal((await send('/ba/x', { authorization: basic('jack:nope') })).text, '{"message":"Invalid user authorization"}\n');

      const ok = await send('/ba/x', { authorization: basic('jack:jack-pass') });
      assert.equal(ok.status, 200, ok.text);
      const echo = echoOf(ok);
      assert.equal(echo.headers['x-consumer-username'], 'jack');
      assert.equal(echo.headers['x-credential-identifier'], 'cred-jack');
      assert.equal(echo.headers['x-consumer-custom-id'], 'jack-7');
      assert.equal(echo.headers.authorization, undefined, 'hide_credentials');
      assert.equal(echoOf(await send('/ba/y', { authorization: basic('bob:bob-pass') })).headers['x-consumer-username'], 'bob');
    });

    test('anonymous_consumer lets unauthenticated requests through as that consumer', async () => {
      const anon = await send('/ba-anon/x');
      assert.equal(anon.status, 200, anon.text);
      assert.equal(echoOf(anon).headers['x-consumer-username'], 'anon');
      assert.equal(echoOf(await send('/ba-anon/x', { authorization: basic('jack:jack-pass') })).headers['x-consumer-username'], 'jack');
    });

    test('the password is stored encrypted; GET shows it again', async () => {
      assert.notEqual(credential.value.plugins['basic-auth'].password, 'jack-pass');
      const read = await admin('GET', '/apisix/admin/consumers/jack/credentials/cred-jack', undefined, 200);
      assert.equal(read.value.plugins['basic-auth'].password, 'jack-pass');
    });

    test('the Admin API refuses a taken username and a consumer without a password', async () => {
      const dup = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'eve', plugins: { 'basic-auth': { username: 'jack', password: 'x' } } });
      assert.equal(dup.status, 400);
      assert.deepEqual(dup.json, { error_msg: 'duplicate key of plugin basic-auth found with credential: cred-jack of consumer: jack' });
      const dupConsumer = await adminRequest(gw, 'PUT', '/apisix/admin/consumers/jack/credentials/cred-2', { plugins: { 'basic-auth': { username: 'bob', password: 'x' } } });
      assert.deepEqual(dupConsumer.json, { error_msg: 'duplicate key of plugin basic-auth found with consumer: bob' });
      const noPassword = await adminRequest(gw, 'PUT', '/apisix/admin/consumers', { username: 'eve', plugins: { 'basic-auth': { username: 'eve' } } });
      assert.equal(noPassword.status, 400);
      assert.match((noPassword.json as { error_msg: string }).error_msg, /basic-auth err: property "password" is required/);
      assert.match(await refused({ 'basic-auth': { anonymous_consumer: '' } }), /^failed to check the configuration of plugin basic-auth err: property "anonymous_consumer" validation failed/);
    });
  });

  describe('cors', () => {
    before(async () => {
      await route('cors', '/cors/*', {
        cors: {
          allow_origins: 'https://app.example.com,https://admin.example.com',
          allow_methods: 'GET,POST',
          allow_headers: 'Content-Type,X-Token',
          expose_headers: 'X-Request-Id',
          max_age: 600,
          allow_credential: true,
        },
        'uri-blocker': { block_rules: ['/private'] },
      });
      await admin('PUT', '/apisix/admin/plugin_metadata/cors', { allow_origins: { partners: 'https://p1.example.net,https://p2.example.net' } }, 201);
      await route('cors-meta', '/cors-meta/*', { cors: { allow_origins_by_metadata: ['partners'] } });
    });

    test('a preflight is answered by the gateway: 200, empty, the CORS headers, no upstream call', async () => {
      const before = up.received.length;
      const res = await send('/cors/items', { origin: 'https://app.example.com', 'access-control-request-method': 'POST' }, 'OPTIONS');
      assert.equal(res.status, 200);
      assert.equal(res.text, '');
      assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(res.headers['access-control-allow-methods'], 'GET,POST');
      assert.equal(res.headers['access-control-allow-headers'], 'Content-Type,X-Token');
      assert.equal(res.headers['access-control-max-age'], '600');
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.equal(res.headers.vary, 'Origin');
      assert.equal(up.received.length, before);
    });

    test('a proxied response carries the headers only for an allowed origin; Vary: Origin either way', async () => {
      const allowed = await send('/cors/items', { origin: 'https://admin.example.com' });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://admin.example.com');
      assert.equal(allowed.headers['access-control-expose-headers'], 'X-Request-Id');
      assert.equal(allowed.headers.vary, 'Origin');

      const other = await send('/cors/items', { origin: 'https://evil.example.org' });
      assert.equal(other.status, 200);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      assert.equal(other.headers['access-control-allow-credentials'], undefined);
      assert.equal(other.headers.vary, 'Origin');
    });

    test('a response the gateway generates (uri-blocker\'s 403) gets the headers too', async () => {
      const res = await send('/cors/private', { origin: 'https://app.example.com' });
      assert.equal(res.status, 403);
      assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    });

    test('origins from plugin metadata', async () => {
      const res = await send('/cors-meta/x', { origin: 'https://p2.example.net' });
      assert.equal(res.headers['access-control-allow-origin'], 'https://p2.example.net');
      assert.equal((await send('/cors-meta/x', { origin: 'https://p3.example.net' })).headers['access-control-allow-origin'], undefined);
    });

    test('the Admin API refuses "*" with credentials, bad origins, bad regexes and bad metadata', async () => {
      assert.equal(await refused({ cors: { allow_credential: true, allow_origins: 'https://a.com' } }),
        "failed to check the configuration of plugin cors err: you can not set '*' for other option when 'allow_credential' is true");
      assert.match(await refused({ cors: { allow_origins: 'a.com' } }), /^failed to check the configuration of plugin cors err: property "allow_origins" validation failed: failed to match pattern/);
      assert.match(await refused({ cors: { allow_origins_by_regex: ['(x'] } }), /^failed to check the configuration of plugin cors err: pcre_compile\(\) failed/);
      const meta = await adminRequest(gw, 'PUT', '/apisix/admin/plugin_metadata/cors', { allow_origins: { k: 'nope' } });
      assert.equal(meta.status, 400);
      assert.match((meta.json as { error_msg: string }).error_msg, /invalid configuration: property "allow_origins" validation failed: .*failed to match pattern/);
    });
  });

  describe('request-id', () => {
    before(async () => {
      await route('rid', '/rid/*', { 'request-id': {} });
    });

    test('a generated id reaches the upstream and the client; a client\'s id is kept', async () => {
      const res = await send('/rid/x');
      const id = echoOf(res).headers['x-request-id'];
      assert.match(String(id), UUID_V4);
      assert.equal(res.headers['x-request-id'], id);

      const kept = await send('/rid/x', { 'x-request-id': 'from-client' });
      assert.equal(echoOf(kept).headers['x-request-id'], 'from-client');
      assert.equal(kept.headers['x-request-id'], 'from-client');
    });

    test('the Admin API refuses an unknown algorithm', async () => {
      assert.match(await refused({ 'request-id': { algorithm: 'v7' } }), /^failed to check the configuration of plugin request-id err: property "algorithm" validation failed: matches none of the enum values/);
    });
  });

  describe('real-ip', () => {
    before(async () => {
      await route('rip', '/rip/*', {
        'real-ip': { source: 'http_x_forwarded_for', trusted_addresses: ['127.0.0.0/8'] },
        'ip-restriction': { whitelist: ['203.0.113.0/24'] },
      });
      await route('rip-arg', '/rip-arg/*', {
        'real-ip': { source: 'arg_realip' },
        'response-rewrite': { headers: { set: { 'X-Client': '$remote_addr:$remote_port' } } },
      });
    });

    test('the address from X-Forwarded-For is what later plugins and the upstream see', async () => {
      const res = await send('/rip/x', { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' });
      assert.equal(res.status, 200, res.text);
      const echo = echoOf(res);
      assert.equal(echo.headers['x-real-ip'], '203.0.113.7');
      assert.equal(echo.headers['x-forwarded-for'], '198.51.100.9, 203.0.113.7, 203.0.113.7');

      const refusedByIp = await send('/rip/x', { 'x-forwarded-for': '198.51.100.9' });
      assert.equal(refusedByIp.status, 403, 'ip-restriction judged the replaced address');
      assert.equal((await send('/rip/x')).status, 403, 'without the header the peer (127.0.0.1) stays');
    });

    test('any variable as the source, a port included', async () => {
      const res = await send('/rip-arg/x?realip=192.0.2.4:4242');
      assert.equal(res.headers['x-client'], '192.0.2.4:4242');
      assert.equal(echoOf(res).headers['x-real-ip'], '192.0.2.4');
    });

    test('the Admin API refuses a missing source and a bad trusted address', async () => {
      assert.equal(await refused({ 'real-ip': {} }), 'failed to check the configuration of plugin real-ip err: property "source" is required');
      assert.match(await refused({ 'real-ip': { source: 'arg_ip', trusted_addresses: ['1.2.3.4/40'] } }), /^failed to check the configuration of plugin real-ip err: property "trusted_addresses" validation failed/);
    });
  });

  describe('uri-blocker', () => {
    before(async () => {
      await route('ub', '/ub/*', { 'uri-blocker': { block_rules: ['root\\.exe', '\\.git/'], rejected_msg: 'access is not allowed', case_insensitive: true } });
    });

    test('a matching URI is refused with {"error_msg"}; others pass', async () => {
      const blocked = await send('/ub/ROOT.exe?a=1');
      assert.equal(blocked.status, 403);
      assert.equal(blocked.text, '{"error_msg":"access is not allowed"}\n');
      assert.equal((await send('/ub/x?file=repo/.git/config')).status, 403, 'the query counts');
      assert.equal((await send('/ub/%72oot.exe')).status, 403, 'matched after decoding');
      assert.equal((await send('/ub/readme')).status, 200);
    });

    test('the Admin API refuses a missing rule list and a rule that does not compile', async () => {
      assert.equal(await refused({ 'uri-blocker': {} }), 'failed to check the configuration of plugin uri-blocker err: property "block_rules" is required');
      assert.match(await refused({ 'uri-blocker': { block_rules: ['a(b'] } }), /^failed to check the configuration of plugin uri-blocker err: pcre_compile\(\) failed: .* in "a\(b"$/);
    });
  });
});
