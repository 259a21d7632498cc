/**
 * Pins fake-whisk to spec/serverless-platforms.md §1.2, §1.3 and §1.6: each
 * of the fourteen behaviours, the order of the controller's checks, and a
 * cross-check from the client side with the official `openwhisk` npm client.
 * Expected texts are written out here, not taken from the double.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import openwhisk from 'openwhisk';
import { waitFor } from '../helpers/net.js';
import { GUEST, WhiskInternalError, apisixCiFixture, startWhiskDouble, type ActivationRecord, type WhiskDouble } from './openwhisk.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary shapes
}

const OTHER = { uuid: 'b7f1c0de-0000-4000-8000-000000000001', secret: 'other-secret', namespace: 'other' };
const basic = (token: string) => `Basic ${Buffer.from(token).toString('base64')}`;
const GUEST_AUTH = basic(GUEST.token);
const TID = /^[A-Za-z0-9]{32}$/;
const ACTIVATION_ID = /^[0-9a-f]{32}$/;
const ERROR_KEYS = ['error', 'code'];

async function call(whisk: WhiskDouble, method: string, path: string, options: { auth?: string | null; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? GUEST_AUTH : options.auth;
  if (auth !== null) headers.authorization = auth;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await request(`${whisk.url}${path}`, { method: method as 'POST', headers, body: options.body });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

const invoke = (whisk: WhiskDouble, target: string, options: Parameters<typeof call>[3] = {}) =>
  call(whisk, 'POST', `/api/v1/namespaces/${target}`, options);

/** An error answer: status, exact text, `{"error","code"}` with code = X-Request-ID. */
function assertError(answer: Answer, status: number, message: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.deepEqual(Object.keys(answer.json as object), ERROR_KEYS);
  assert.equal(answer.json.error, message);
  assert.equal(answer.json.code, answer.headers['x-request-id']);
  assert.equal(answer.headers['content-type'], 'application/json');
}

describe('fake-whisk', () => {
  let whisk: WhiskDouble;
  const seen: Record<string, unknown>[] = [];

  before(async () => {
    const ci = apisixCiFixture();
    whisk = await startWhiskDouble({
      keys: { ...ci.keys, [OTHER.uuid]: { secret: OTHER.secret, namespace: OTHER.namespace } },
      actions: {
        ...ci.actions,
        'guest/echo': (params) => {
          seen.push(params);
          return { params };
        },
        'guest/my action@v1.0': () => ({ ok: true }),
        'guest/boom': () => ({ error: 'boom' }),
        'guest/throws': () => {
          throw new Error('kaput');
        },
        'guest/internal': () => {
          throw new WhiskInternalError('lost');
        },
        'guest/text': () => 'just text',
        'guest/list': () => [1, 2, 3],
        'guest/slow': { fn: () => ({ slow: true }), delayMs: 400 },
        'guest/overrun': { fn: () => ({ never: true }), delayMs: 300, limitMs: 50 },
        'guest/finals': { fn: (p) => p, params: { a: 1, b: 1 }, final: { secret: 's' } },
        'other/shared/hello': () => ({ from: 'other' }),
        'other/private/hello': () => ({ from: 'other' }),
      },
      publicPackages: ['other/shared'],
      maxPayloadBytes: 64,
      maxWaitMs: 30_000,
    });
  });
  after(() => whisk.close());

  describe('1. routes', () => {
    test('GET /api/v1 is the API info, without credentials', async () => {
      const answer = await call(whisk, 'GET', '/api/v1', { auth: null });
      assert.equal(answer.status, 200);
      assert.equal(answer.json.description, 'OpenWhisk API');
      assert.equal(answer.json.api_version_path, 'v1');
    });

    test('invoke in the default package and in a package', async () => {
      const plain = await invoke(whisk, 'guest/actions/test?blocking=true&result=true');
      assert.equal(plain.status, 200);
      assert.equal(plain.text, '{"hello":"test"}');
      const packaged = await invoke(whisk, 'guest/actions/pkg/testpkg?blocking=true&result=true');
      assert.equal(packaged.text, '{"hello":"world"}');
    });

    test('anything else, once authenticated, is "could not be found"', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/namespaces/guest/actions/test'],
        ['PUT', '/api/v1/namespaces/guest/actions/test'],
        ['POST', '/api/v1/namespaces/guest/triggers/t'],
        ['POST', '/api/v1/namespaces/guest/actions/pkg/'],
        ['POST', '/api/v1/namespaces/guest/actions/a/b/c'],
        ['GET', '/elsewhere'],
      ] as const) {
        assertError(await call(whisk, method, path), 404, 'The requested resource could not be found.');
      }
    });
  });

  describe('2. basic authentication', () => {
    test('missing credentials: 401 "requires authentication" with the realm', async () => {
      const answer = await invoke(whisk, 'guest/actions/test?blocking=true', { auth: null });
      assertError(answer, 401, 'The resource requires authentication, which was not supplied with the request');
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="OpenWhisk secure realm"');
      assert.equal(answer.headers['access-control-allow-origin'], undefined, 'a rejection of the HTTP layer has no CORS headers');
    });

    test('wrong secret, unknown key, malformed header: 401 "invalid" with the realm', async () => {
      for (const auth of [basic(`${GUEST.uuid}:nope`), basic(`unknown:${GUEST.secret}`), basic('no-colon'), 'Bearer abc', 'Basic %%%']) {
        const answer = await invoke(whisk, 'guest/actions/test?blocking=true', { auth });
        assertError(answer, 401, 'The supplied authentication is invalid');
        assert.equal(answer.headers['www-authenticate'], 'Basic realm="OpenWhisk secure realm"');
      }
    });
  });

  describe('3. namespaces and entitlement', () => {
    test('`_` is the key\'s namespace', async () => {
      assert.equal((await invoke(whisk, '_/actions/test?blocking=true&result=true')).text, '{"hello":"test"}');
    });

    test('a foreign namespace is 403 naming the path; a public package of it is allowed', async () => {
      assertError(await invoke(whisk, 'other/actions/hello?blocking=true'), 403, "The supplied authentication is not authorized to access 'other/hello'.");
      assertError(await invoke(whisk, 'other/actions/private/hello?blocking=true'), 403, "The supplied authentication is not authorized to access 'other/private/hello'.");
      const shared = await invoke(whisk, 'other/actions/shared/hello?blocking=true&result=true');
      assert.equal(shared.text, '{"from":"other"}');
    });
  });

  describe('4. names', () => {
    test('illegal characters in an entity name or the namespace: 400', async () => {
      assertError(await invoke(whisk, 'guest/actions/bad%24name?blocking=true'), 400, 'The name of the entity contains illegal characters.');
      assertError(await invoke(whisk, 'guest/actions/-lead?blocking=true'), 400, 'The name of the entity contains illegal characters.');
      assertError(await invoke(whisk, 'guest/actions/trail%20?blocking=true'), 400, 'The name of the entity contains illegal characters.');
      assertError(await invoke(whisk, 'gu%21est/actions/test?blocking=true'), 400, 'The namespace contains illegal characters.');
    });

    test('a segment longer than 256 characters: 400 (with OpenWhisk\'s spelling)', async () => {
      assertError(await invoke(whisk, `guest/actions/${'a'.repeat(257)}?blocking=true`), 400, 'Name segement longer than allowed: 257 > 256.');
    });

    test('spaces, @ and dots inside a name are legal (percent-decoded)', async () => {
      const answer = await invoke(whisk, 'guest/actions/my%20action%40v1.0?blocking=true&result=true');
      assert.equal(answer.text, '{"ok":true}');
    });
  });

  describe('5. unknown entities', () => {
    test('unknown package or action: 404 "does not exist"', async () => {
      assertError(await invoke(whisk, 'guest/actions/nope/test?blocking=true'), 404, 'The requested resource does not exist.');
      assertError(await invoke(whisk, 'guest/actions/non-existent?blocking=true'), 404, 'The requested resource does not exist.');
    });
  });

  describe('6. query parameters', () => {
    test('boolean words in any case, parameters in any order', async () => {
      for (const query of ['blocking=YES&result=on', 'result=1&timeout=500&blocking=True', 'timeout=1000&result=true&blocking=on']) {
        const answer = await invoke(whisk, `guest/actions/test?${query}`);
        assert.equal(answer.text, '{"hello":"test"}', query);
      }
      const full = await invoke(whisk, 'guest/actions/test?blocking=1&result=off');
      assert.equal(full.json.response.result.hello, 'test', 'result=off returns the record');
    });

    test('malformed booleans and timeouts: 400 with the exact text', async () => {
      assertError(await invoke(whisk, 'guest/actions/test?blocking=maybe'), 400, "The query parameter 'blocking' was malformed:\n'maybe' is not a valid Boolean value");
      assertError(await invoke(whisk, 'guest/actions/test?blocking=true&result=2'), 400, "The query parameter 'result' was malformed:\n'2' is not a valid Boolean value");
      for (const timeout of ['0', '-5', '30001', 'soon', '1.5']) {
        const answer = await invoke(whisk, `guest/actions/test?blocking=true&timeout=${timeout}`);
        assertError(answer, 400, "The query parameter 'timeout' was malformed:\nTimeout must be number of milliseconds up to 30000.");
      }
      assert.equal((await invoke(whisk, 'guest/actions/test?blocking=true&result=true&timeout=30000')).status, 200);
    });
  });

  describe('7. body', () => {
    test('an empty body is {}; a JSON object becomes the parameters', async () => {
      seen.length = 0;
      await invoke(whisk, 'guest/actions/echo?blocking=true&result=true');
      await invoke(whisk, 'guest/actions/echo?blocking=true&result=true', { body: '{"name":"world"}' });
      assert.deepEqual(seen, [{}, { name: 'world' }]);
      assert.equal((await invoke(whisk, 'guest/actions/test-params?blocking=true&result=true', { body: '{"name":"world"}' })).text, '{"hello":"world"}');
    });

    test('not JSON, or JSON that is not an object: 400 "malformed"', async () => {
      for (const body of ['test=test', '[1]', '"text"', '{"open":']) {
        const answer = await invoke(whisk, 'guest/actions/test-params?blocking=true', { body });
        assert.equal(answer.status, 400, body);
        assert.match(answer.json.error, /^The request content was malformed:\n./);
        assert.equal(answer.json.code, answer.headers['x-request-id']);
      }
    });

    test('over maxPayloadBytes: 413 with the sizes', async () => {
      const body = JSON.stringify({ pad: 'x'.repeat(70) });
      assertError(await invoke(whisk, 'guest/actions/echo?blocking=true', { body }), 413, `Request larger than allowed: ${body.length} > 64 bytes.`);
    });

    test('defaults under the body, final parameters on top; overriding a final one is 400', async () => {
      const answer = await invoke(whisk, 'guest/actions/finals?blocking=true&result=true', { body: '{"b":2}' });
      assert.deepEqual(answer.json, { a: 1, b: 2, secret: 's' });
      assertError(await invoke(whisk, 'guest/actions/finals?blocking=true', { body: '{"secret":"mine"}' }), 400, 'Request defines parameters that are not allowed (e.g., reserved properties).');
    });
  });

  describe('8. outcomes', () => {
    test('an object with `error` is an application error: 502 with the result', async () => {
      const answer = await invoke(whisk, 'guest/actions/boom?blocking=true&result=true');
      assert.equal(answer.status, 502);
      assert.equal(answer.text, '{"error":"boom"}');
      const record = (await invoke(whisk, 'guest/actions/boom?blocking=true')).json as ActivationRecord;
      assert.deepEqual(record.response, { result: { error: 'boom' }, size: 16, success: false, status: 'application error' });
    });

    test('a throw, or a result that is not an object or array, is a developer error: 502', async () => {
      const thrown = await invoke(whisk, 'guest/actions/throws?blocking=true');
      assert.equal(thrown.status, 502);
      assert.equal(thrown.json.response.status, 'action developer error');
      assert.equal(thrown.json.response.result.error, 'kaput');
      const text = await invoke(whisk, 'guest/actions/text?blocking=true&result=true');
      assert.equal(text.status, 502);
      assert.deepEqual(text.json, { error: 'The action did not produce a valid JSON or JSON Array response: "just text"' });
    });

    test('running past the action\'s own limit: 502 "exceeded its time limits"', async () => {
      const answer = await invoke(whisk, 'guest/actions/overrun?blocking=true');
      assert.equal(answer.status, 502);
      assert.deepEqual(answer.json.response.result, { error: 'The action exceeded its time limits of 50 milliseconds.' });
      assert.deepEqual(answer.json.annotations.find((a: { key: string }) => a.key === 'timeout'), { key: 'timeout', value: true });
    });

    test('an internal error is 500', async () => {
      const answer = await invoke(whisk, 'guest/actions/internal?blocking=true');
      assert.equal(answer.status, 500);
      assert.equal(answer.json.response.status, 'whisk internal error');
    });

    test('an array result is the body, with or without result=true', async () => {
      assert.equal((await invoke(whisk, 'guest/actions/list?blocking=true&result=true')).text, '[1,2,3]');
      const full = await invoke(whisk, 'guest/actions/list?blocking=true');
      assert.equal(full.status, 200);
      assert.equal(full.text, '[1,2,3]');
    });
  });

  describe('9. non-blocking and waits that run out', () => {
    test('no blocking: 202 {activationId} at once, the action still runs', async () => {
      const answer = await invoke(whisk, 'guest/actions/slow?result=true');
      assert.equal(answer.status, 202);
      assert.equal(whisk.activation(answer.json.activationId as string), undefined, 'answered before the action finished');
      assert.deepEqual(Object.keys(answer.json as object), ['activationId']);
      assert.match(answer.json.activationId, ACTIVATION_ID);
      assert.equal(answer.headers['x-openwhisk-activation-id'], answer.json.activationId);
      await waitFor(() => whisk.activation(answer.json.activationId as string) !== undefined, { what: 'the background activation' });
      assert.deepEqual(whisk.activation(answer.json.activationId as string)?.response.result, { slow: true });
    });

    test('blocking with a shorter timeout: 202 at the timeout', async () => {
      const started = Date.now();
      const answer = await invoke(whisk, 'guest/actions/slow?blocking=true&result=true&timeout=100');
      const elapsed = Date.now() - started;
      assert.equal(answer.status, 202);
      assert.ok(elapsed >= 90, `answered after ${elapsed} ms`);
      assert.match(answer.json.activationId, ACTIVATION_ID);
      assert.equal(whisk.activation(answer.json.activationId as string), undefined, 'the action is still running');
    });
  });

  describe('10. response bodies and headers', () => {
    test('result=false: the activation record shaped as the controller\'s', async () => {
      const answer = await invoke(whisk, 'guest/actions/pkg/testpkg?blocking=true');
      assert.equal(answer.status, 200);
      const record = answer.json as ActivationRecord;
      assert.deepEqual(Object.keys(record), ['namespace', 'name', 'subject', 'activationId', 'start', 'end', 'duration', 'response', 'logs', 'version', 'publish', 'annotations']);
      assert.equal(record.namespace, 'guest');
      assert.equal(record.name, 'testpkg', 'the bare name, even in a package');
      assert.equal(record.subject, 'guest');
      assert.deepEqual(record.response, { result: { hello: 'world' }, size: 17, success: true, status: 'success' });
      assert.equal(record.duration, record.end - record.start);
      const annotations = Object.fromEntries(record.annotations.map((a) => [a.key, a.value]));
      assert.equal(annotations.path, 'guest/pkg/testpkg');
      assert.equal(annotations.timeout, false);
      assert.deepEqual(annotations.limits, { concurrency: 1, logs: 10, memory: 256, timeout: 60000 });
      assert.equal(answer.headers['x-openwhisk-activation-id'], record.activationId);
    });

    test('headers: activation id, X-Request-ID, application/json, CORS', async () => {
      const answer = await invoke(whisk, 'guest/actions/test?blocking=true&result=true');
      assert.match(String(answer.headers['x-openwhisk-activation-id']), ACTIVATION_ID);
      assert.match(String(answer.headers['x-request-id']), TID);
      assert.equal(answer.headers['content-type'], 'application/json');
      assert.equal(answer.headers['access-control-allow-origin'], '*');
      assert.equal(answer.headers['access-control-allow-methods'], 'GET, DELETE, POST, PUT, HEAD');
    });
  });

  describe('11. error bodies', () => {
    test('code is a fresh 32-character id, or the caller\'s X-Request-ID unless it starts with sid_', async () => {
      const fresh = await invoke(whisk, 'guest/actions/nope?blocking=true');
      assert.match(fresh.json.code, TID);
      const given = await invoke(whisk, 'guest/actions/nope?blocking=true', { headers: { 'x-request-id': 'trace-42' } });
      assertError(given, 404, 'The requested resource does not exist.');
      assert.equal(given.json.code, 'trace-42');
      const session = await invoke(whisk, 'guest/actions/nope?blocking=true', { headers: { 'x-request-id': 'sid_abc' } });
      assert.match(session.json.code, TID);
    });
  });

  describe('12. activations', () => {
    test('GET …/activations/{id} returns the stored record; unknown ids are 404', async () => {
      const answer = await invoke(whisk, 'guest/actions/test?blocking=true&result=true');
      const id = String(answer.headers['x-openwhisk-activation-id']);
      const fetched = await call(whisk, 'GET', `/api/v1/namespaces/_/activations/${id}`);
      assert.equal(fetched.status, 200);
      assert.equal(fetched.json.activationId, id);
      assert.deepEqual(fetched.json.response.result, { hello: 'test' });
      assertError(await call(whisk, 'GET', '/api/v1/namespaces/_/activations/0123456789abcdef0123456789abcdef'), 404, 'The requested resource does not exist.');
      assertError(await call(whisk, 'GET', `/api/v1/namespaces/_/activations/${id}`, { auth: basic(`${OTHER.uuid}:${OTHER.secret}`) }), 404, 'The requested resource does not exist.');
    });
  });

  describe('13. recording', () => {
    test('method, raw target, headers and body of each request, and its connection', async () => {
      whisk.clearRequests();
      await invoke(whisk, 'guest/actions/test-params?result=true&blocking=true&timeout=3000', { body: '{"name":"x"}' });
      const last = whisk.lastRequest();
      assert.ok(last);
      assert.equal(last.method, 'POST');
      assert.equal(last.url, '/api/v1/namespaces/guest/actions/test-params?result=true&blocking=true&timeout=3000');
      assert.equal(last.headers.authorization, GUEST_AUTH);
      assert.equal(last.headers['content-type'], 'application/json');
      assert.equal(last.body.toString(), '{"name":"x"}');
      assert.ok(last.connection >= 1 && last.connection <= whisk.connections());
      assert.equal(whisk.requests.length, 1);
    });
  });

  describe('14. faults', () => {
    test('a fixed status and body, keyed by the resolved path or `*`', async () => {
      whisk.setFault('guest/test', { status: 202, body: '{"activationId":"0123"}' });
      try {
        const answer = await invoke(whisk, '_/actions/test?blocking=true');
        assert.equal(answer.status, 202);
        assert.equal(answer.text, '{"activationId":"0123"}');
      } finally {
        whisk.setFault('guest/test', undefined);
      }
      whisk.setFault('*', { status: 200, body: 'not json', headers: { 'content-type': 'text/plain' } });
      try {
        const answer = await invoke(whisk, 'guest/actions/anything?blocking=true');
        assert.equal(answer.text, 'not json');
        assert.equal(answer.headers['content-type'], 'text/plain');
      } finally {
        whisk.setFault('*', undefined);
      }
    });

    test('faults apply after authentication', async () => {
      whisk.setFault('*', { status: 500, body: 'down' });
      try {
        assert.equal((await invoke(whisk, 'guest/actions/test', { auth: null })).status, 401);
      } finally {
        whisk.setFault('*', undefined);
      }
    });

    test('a closed socket and a hang', async () => {
      whisk.setFault('guest/test', { socket: 'close' });
      try {
        await assert.rejects(invoke(whisk, 'guest/actions/test?blocking=true'), /other side closed|socket/i);
        whisk.setFault('guest/test', { socket: 'hang' });
        const started = Date.now();
        await assert.rejects(
          request(`${whisk.url}/api/v1/namespaces/guest/actions/test?blocking=true`, { method: 'POST', headers: { authorization: GUEST_AUTH }, headersTimeout: 200 }),
          (err: Error & { code?: string }) => err.code === 'UND_ERR_HEADERS_TIMEOUT',
        );
        assert.ok(Date.now() - started >= 190);
      } finally {
        whisk.setFault('guest/test', undefined);
      }
    });
  });

  describe('order of checks (§1.2)', () => {
    test('authentication before names, names before entitlement, entitlement before the package', async () => {
      assert.equal((await invoke(whisk, 'guest/actions/bad%24?blocking=maybe', { auth: null })).status, 401);
      assertError(await invoke(whisk, 'other/actions/bad%24?blocking=true'), 400, 'The name of the entity contains illegal characters.');
      assertError(await invoke(whisk, 'other/actions/nopkg/x?blocking=true'), 403, "The supplied authentication is not authorized to access 'other/nopkg/x'.");
    });

    test('an unknown package (404) comes before the payload size, the query and the body', async () => {
      const big = JSON.stringify({ pad: 'x'.repeat(100) });
      assertError(await invoke(whisk, 'guest/actions/nopkg/x?timeout=0', { body: big }), 404, 'The requested resource does not exist.');
    });

    test('payload size (413) before the query; the query before the body', async () => {
      const big = JSON.stringify({ pad: 'x'.repeat(100) });
      assert.equal((await invoke(whisk, 'guest/actions/test?timeout=0', { body: big })).status, 413);
      const answer = await invoke(whisk, 'guest/actions/test?blocking=maybe', { body: 'not json' });
      assert.match(answer.json.error, /^The query parameter 'blocking'/);
    });

    test('a bad timeout or body for an unknown action is 400, not 404', async () => {
      assert.equal((await invoke(whisk, 'guest/actions/non-existent?blocking=true&timeout=0')).status, 400);
      assert.equal((await invoke(whisk, 'guest/actions/non-existent?blocking=true', { body: 'test=test' })).status, 400);
    });
  });

  describe('the official openwhisk client against the double', () => {
    const client = (apiKey: string = GUEST.token, namespace?: string) =>
      openwhisk({ apihost: whisk.url, api_key: apiKey, ...(namespace === undefined ? {} : { namespace }) });

    test('blocking with result: the client asks for the record and takes response.result', async () => {
      whisk.clearRequests();
      const result = await client().actions.invoke({ name: 'test-params', blocking: true, result: true, params: { name: 'world' } });
      assert.deepEqual(result, { hello: 'world' });
      const sent = whisk.lastRequest();
      assert.equal(sent?.url, '/api/v1/namespaces/_/actions/test-params?blocking=true');
      assert.equal(sent?.headers.authorization, GUEST_AUTH);
      assert.equal(sent?.headers['user-agent'], 'openwhisk-client-js');
    });

    test('a package, a namespace in the name, and the full activation record', async () => {
      const record = await client().actions.invoke({ name: '/guest/pkg/testpkg', blocking: true });
      assert.equal(record.name, 'testpkg');
      assert.deepEqual(record.response?.result, { hello: 'world' });
      assert.equal(whisk.lastRequest()?.url, '/api/v1/namespaces/guest/actions/pkg/testpkg?blocking=true');
    });

    test('non-blocking: {activationId}, then activations.get finds the record', async () => {
      const ow = client();
      const { activationId } = await ow.actions.invoke({ name: 'test' });
      assert.match(activationId, ACTIVATION_ID);
      // No query parameters, but the client still ends the target with a bare `?`.
      assert.equal(whisk.lastRequest()?.url, '/api/v1/namespaces/_/actions/test?');
      await waitFor(() => whisk.activation(activationId) !== undefined, { what: 'the activation' });
      const record = await ow.activations.get({ name: activationId });
      assert.deepEqual(record.response?.result, { hello: 'test' });
    });

    test('errors become exceptions with the status and the controller\'s text', async () => {
      const cases: Array<[() => Promise<unknown>, number, string]> = [
        [() => client().actions.invoke({ name: 'non-existent', blocking: true }), 404, 'The requested resource does not exist.'],
        [() => client(`${GUEST.uuid}:wrong`).actions.invoke({ name: 'test', blocking: true }), 401, 'The supplied authentication is invalid'],
        [() => client().actions.invoke({ name: 'boom', blocking: true, result: true }), 502, 'boom'],
        [() => client().actions.invoke({ name: '/other/hello', blocking: true }), 403, "The supplied authentication is not authorized to access 'other/hello'."],
      ];
      for (const [run, status, text] of cases) {
        await assert.rejects(run(), (err: Error & { statusCode?: number }) => {
          assert.equal(err.statusCode, status);
          assert.ok(err.message.endsWith(`--> "${text}"`), err.message);
          assert.match(err.message, new RegExp(`^POST ${whisk.url}/api/v1/namespaces/\\S+ Returned HTTP ${status} `));
          return true;
        });
      }
    });
  });
});
