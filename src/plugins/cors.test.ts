/**
 * cors: configuration checks, the preflight answer, and the headers
 * header_filter puts on responses for each way of allowing origins
 * (list, `*`, `**`, regexes, plugin metadata) plus Timing-Allow-Origin.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderValue } from '../pdk/context.js';
import type { JsonObject } from '../resources/types.js';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import cors from './cors.js';

const h = new PluginHarness(cors);

interface Exchange {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly upstream?: Record<string, HeaderValue>;
  readonly metadata?: JsonObject;
}

/** rewrite, then header_filter on a 200 from an upstream that sent `upstream` headers. */
async function exchange(conf: JsonObject, options: Exchange = {}) {
  const ctx = h.request('/x', {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.metadata ? { metadata: { cors: options.metadata } } : {}),
  });
  const verdict = await h.run('rewrite', conf, ctx);
  const res = await h.respond(conf, ctx, 200, options.upstream ?? {}, ['ok']);
  return { verdict, headers: res.headers };
}

/** The CORS-related part of a response head. */
function corsHeaders(headers: Record<string, HeaderValue>): Record<string, HeaderValue> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary' || name === 'timing-allow-origin'));
}

const origin = (value: string) => ({ headers: { Origin: value } });

describe('cors: checks', () => {
  test('defaults are APISIX\'s (no expose_headers default)', () => {
    assert.deepEqual(h.conf({}), { allow_origins: '*', allow_methods: '*', allow_headers: '*', max_age: 5, allow_credential: false });
  });

  test('credentials cannot be combined with a "*" option', () => {
    const message = "failed to check the configuration of plugin cors err: you can not set '*' for other option when 'allow_credential' is true";
    assert.equal(h.check({ allow_credential: true }), message, 'the defaults are "*"');
    assert.equal(h.check({ allow_credential: true, allow_origins: 'https://a.com', allow_methods: 'GET', allow_headers: 'x', expose_headers: '*' }), message);
    assert.equal(h.check({ allow_credential: true, allow_origins: '**', allow_methods: '**', allow_headers: '**' }), undefined);
  });

  test('origins must be "*", "**", "null" or comma-separated scheme://host entries', () => {
    for (const good of ['*', '**', 'null', 'https://x.com', 'https://x.com,http://y.com.uk:12000']) assert.equal(h.check({ allow_origins: good }), undefined, good);
    for (const bad of ['', 'x.com', '*,http://y.com', 'https://x.com,*', 'https://x.com, http://y.com']) {
      assert.match(h.check({ allow_origins: bad }) ?? '', /property "allow_origins" validation failed: failed to match pattern/, bad);
    }
    assert.match(h.check({ timing_allow_origins: 'nulll' }) ?? '', /property "timing_allow_origins" validation failed/);
  });

  test('regexes must compile; lists must not be empty', () => {
    assert.match(h.check({ allow_origins_by_regex: ['.*\\.test\\.com$', '(unclosed'] }) ?? '', /err: pcre_compile\(\) failed: .+ in "\(unclosed"$/);
    assert.match(h.check({ timing_allow_origins_by_regex: ['[a-'] }) ?? '', /pcre_compile\(\) failed/);
    assert.match(h.check({ allow_origins_by_metadata: [] }) ?? '', /expect array to have at least 1 items/);
  });

  test('values that cannot be sent in a header are refused', () => {
    assert.match(h.check({ allow_headers: 'x-é' }) ?? '', /invalid value character in header/);
  });

  test('metadata: a map of origin lists, each like allow_origins', () => {
    assert.equal(h.registry.checkMetadata('cors', { allow_origins: { a: 'https://a.com', b: '*' } }, false), undefined);
    assert.match(h.registry.checkMetadata('cors', { allow_origins: { a: 'a.com' } }, false) ?? '', /^property "allow_origins" validation failed: .*failed to match pattern/);
  });
});

describe('cors: preflight', () => {
  test('OPTIONS is answered with 200 by the gateway; other methods continue', async () => {
    const conf = h.conf({});
    const preflight = await exchange(conf, { method: 'OPTIONS', headers: { Origin: 'https://a.com' } });
    assert.equal(preflight.verdict, 200);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.equal((await exchange(conf, { method: 'GET' })).verdict, undefined);
  });
});

describe('cors: allowed origins', () => {
  test('defaults: "*" for every request, with or without Origin, and no Vary', async () => {
    const expected = {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': '*',
      'access-control-allow-headers': '*',
      'access-control-max-age': '5',
    };
    assert.deepEqual(corsHeaders((await exchange(h.conf({}))).headers), expected);
    assert.deepEqual(corsHeaders((await exchange(h.conf({}), origin('https://a.com'))).headers), expected);
  });

  test('a list: an allowed origin is echoed, with Vary added to the upstream\'s and upstream CORS headers replaced', async () => {
    const conf = h.conf({
      allow_origins: 'http://sub.domain.com,http://sub2.domain.com',
      allow_methods: 'GET,POST',
      allow_headers: 'headr1,headr2',
      expose_headers: 'ex-headr1,ex-headr2',
      max_age: 50,
      allow_credential: true,
    });
    const { headers } = await exchange(conf, {
      headers: { Origin: 'http://sub2.domain.com' },
      upstream: { Vary: 'Via', 'Access-Control-Allow-Origin': 'https://evil.example', 'Access-Control-Allow-Credentials': 'false' },
    });
    assert.deepEqual(corsHeaders(headers), {
      'access-control-allow-origin': 'http://sub2.domain.com',
      vary: ['Via', 'Origin'],
      'access-control-allow-methods': 'GET,POST',
      'access-control-max-age': '50',
      'access-control-expose-headers': 'ex-headr1,ex-headr2',
      'access-control-allow-headers': 'headr1,headr2',
      'access-control-allow-credentials': 'true',
    });
  });

  test('an origin not in the list gets no CORS headers, only Vary: Origin; so does a request without Origin', async () => {
    const conf = h.conf({ allow_origins: 'http://sub.domain.com,http://sub2.domain.com' });
    assert.deepEqual(corsHeaders((await exchange(conf, origin('http://sub3.domain.com'))).headers), { vary: 'Origin' });
    assert.deepEqual(corsHeaders((await exchange(conf)).headers), { vary: 'Origin' });
    const single = h.conf({ allow_origins: 'https://test.com' });
    assert.deepEqual(corsHeaders((await exchange(single, origin('https://test.com.evil'))).headers), { vary: 'Origin' });
    assert.equal((await exchange(single, origin('https://test.com'))).headers['access-control-allow-origin'], 'https://test.com');
  });

  test('"**" echoes any origin (even with credentials); "**" methods and headers expand and reflect', async () => {
    const conf = h.conf({ allow_origins: '**', allow_methods: '**', allow_headers: '**', allow_credential: true });
    const withOrigin = await exchange(conf, { headers: { Origin: 'https://sub.domain.com', 'Access-Control-Request-Headers': 'req-header1,req-header2' } });
    assert.deepEqual(corsHeaders(withOrigin.headers), {
      'access-control-allow-origin': 'https://sub.domain.com',
      vary: 'Origin',
      'access-control-allow-methods': 'GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE',
      'access-control-max-age': '5',
      'access-control-allow-headers': 'req-header1,req-header2',
      'access-control-allow-credentials': 'true',
    });
    const without = await exchange(conf, { upstream: { 'Access-Control-Allow-Headers': 'from-upstream' } });
    assert.equal(without.headers['access-control-allow-origin'], '*', 'no Origin: "*"');
    assert.equal(without.headers.vary, undefined);
    assert.equal(without.headers['access-control-allow-headers'], undefined, 'nothing requested: the header is removed');
  });

  test('expose_headers: left alone when unset or empty', async () => {
    const upstream = { 'Access-Control-Expose-Headers': 'x-upstream' };
    assert.equal((await exchange(h.conf({}), { upstream })).headers['access-control-expose-headers'], 'x-upstream');
    assert.equal((await exchange(h.conf({ expose_headers: '' }), { upstream })).headers['access-control-expose-headers'], 'x-upstream');
    assert.equal((await exchange(h.conf({ expose_headers: '*' }), { upstream })).headers['access-control-expose-headers'], '*');
  });

  test('allow_origins_by_regex: matching origins are echoed and allow_origins is not used', async () => {
    const conf = h.conf({ allow_origins: 'https://listed.com', allow_origins_by_regex: ['^http://.*\\.test\\.com$'] });
    assert.equal((await exchange(conf, origin('http://a.test.com'))).headers['access-control-allow-origin'], 'http://a.test.com');
    assert.deepEqual(corsHeaders((await exchange(conf, origin('http://a.test2.com'))).headers), { vary: 'Origin' });
    assert.deepEqual(corsHeaders((await exchange(conf, origin('https://listed.com'))).headers), { vary: 'Origin' });
    assert.deepEqual(corsHeaders((await exchange(conf)).headers), { vary: 'Origin' });
  });

  test('the origin seen by rewrite is the one judged, even if a later plugin changes the header', async () => {
    const conf = h.conf({ allow_origins: 'https://a.com' });
    const ctx = h.request('/x', { headers: { Origin: 'https://a.com' } });
    await h.run('rewrite', conf, ctx);
    ctx.request.setHeader('origin', 'https://other.com');
    const res = await h.respond(conf, ctx, 200, {}, []);
    assert.equal(res.headers['access-control-allow-origin'], 'https://a.com');
  });

  test('a response made before rewrite ran still uses the request\'s Origin', async () => {
    const conf = h.conf({ allow_origins: 'https://a.com' });
    const res = await h.respond(conf, h.request('/x', { headers: { Origin: 'https://a.com' } }), 401, {}, []);
    assert.equal(res.headers['access-control-allow-origin'], 'https://a.com');
  });
});

describe('cors: allow_origins_by_metadata', () => {
  const metadata = { allow_origins: { key_1: 'https://domain.com', key_2: 'https://sub.domain.com,https://sub2.domain.com', key_3: '*' } };

  test('origins listed under the referenced keys are allowed; allow_origins still applies to the rest', async () => {
    const conf = h.conf({ allow_origins: 'https://test.com', allow_origins_by_metadata: ['key_1', 'key_2'] });
    for (const allowed of ['https://domain.com', 'https://sub2.domain.com', 'https://test.com']) {
      const { headers } = await exchange(conf, { ...origin(allowed), metadata });
      assert.equal(headers['access-control-allow-origin'], allowed, allowed);
      assert.equal(headers.vary, 'Origin');
    }
    assert.deepEqual(corsHeaders((await exchange(conf, { ...origin('http://foo.example.org'), metadata })).headers), { vary: 'Origin' });
  });

  test('a "*" entry echoes any origin', async () => {
    const conf = h.conf({ allow_origins: 'https://test.com', allow_origins_by_metadata: ['key_3'] });
    assert.equal((await exchange(conf, { ...origin('http://foo.example.org'), metadata })).headers['access-control-allow-origin'], 'http://foo.example.org');
  });

  test('with allow_origins "*" only the metadata decides', async () => {
    const conf = h.conf({ allow_origins_by_metadata: ['key_1'] });
    assert.deepEqual(corsHeaders((await exchange(conf, { ...origin('http://foo.example.org'), metadata })).headers), { vary: 'Origin' });
    assert.equal((await exchange(conf, { ...origin('https://domain.com'), metadata })).headers['access-control-allow-origin'], 'https://domain.com');
  });

  test('missing metadata or an unknown key allows nothing through it', async () => {
    const conf = h.conf({ allow_origins_by_metadata: ['nope'] });
    assert.equal((await exchange(conf, { ...origin('https://domain.com'), metadata })).headers['access-control-allow-origin'], undefined);
    assert.equal((await exchange(conf, origin('https://domain.com'))).headers['access-control-allow-origin'], undefined);
  });
});

describe('cors: Timing-Allow-Origin', () => {
  test('set for origins in timing_allow_origins, independently of the CORS decision', async () => {
    const conf = h.conf({ allow_origins: 'http://one.domain.com', timing_allow_origins: 'http://another.domain.com' });
    const one = await exchange(conf, origin('http://one.domain.com'));
    assert.equal(one.headers['access-control-allow-origin'], 'http://one.domain.com');
    assert.equal(one.headers['timing-allow-origin'], undefined);
    const another = await exchange(conf, origin('http://another.domain.com'));
    assert.equal(another.headers['access-control-allow-origin'], undefined);
    assert.equal(another.headers['timing-allow-origin'], 'http://another.domain.com');
  });

  test('timing_allow_origins_by_regex wins over timing_allow_origins', async () => {
    const conf = h.conf({ timing_allow_origins_by_regex: ['http://test.*?\\.domain\\.com'], timing_allow_origins: 'http://nonexistent.newdomain.com' });
    assert.equal((await exchange(conf, origin('http://testurl.domain.com'))).headers['timing-allow-origin'], 'http://testurl.domain.com');
    assert.equal((await exchange(conf, origin('http://nonexistent.newdomain.com'))).headers['timing-allow-origin'], undefined);
  });
});
