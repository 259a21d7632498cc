/**
 * proxy-rewrite's checks and rewrite phase on real request contexts: the
 * upstream target (uri, regex_uri, query handling, encoding, the unsafe
 * raw mode), Host, method and header actions.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness, upstreamView } from '../../test/helpers/plugin-harness.js';
import proxyRewrite, { uriSafeEncode } from './proxy-rewrite.js';

const h = new PluginHarness(proxyRewrite);

async function rewrite(conf: Record<string, unknown>, target: string, options: Parameters<PluginHarness['request']>[1] = {}) {
  const ctx = h.request(target, options);
  const verdict = await h.run('rewrite', h.conf(conf), ctx);
  return { verdict, ctx, ...upstreamView(ctx) };
}

describe('proxy-rewrite: checks', () => {
  test('refuses an odd regex_uri, a broken pattern and a bad template, with APISIX messages', () => {
    assert.match(h.check({ regex_uri: ['^/a', '/b', '^/c'] }) ?? '', /The length of regex_uri should be an even number/);
    assert.match(h.check({ regex_uri: ['^/(a', '/b'] }) ?? '', /invalid regex_uri\(\^\/\(a, \/b\): /);
    assert.match(h.check({ regex_uri: ['^/(a)', '/$x'] }) ?? '', /invalid regex_uri\(\^\/\(a\), \/\$x\): invalid capturing variable name/);
  });

  test('schema: uri must start with /, host is a host[:port], method is an HTTP method', () => {
    assert.match(h.check({ uri: 'no-slash' }) ?? '', /property "uri" validation failed/);
    assert.match(h.check({ host: 'bad host' }) ?? '', /property "host" validation failed/);
    assert.equal(h.check({ host: 'example.com:8080' }), undefined);
    assert.match(h.check({ method: 'FETCH' }) ?? '', /property "method" validation failed/);
  });

  test('header names and values that cannot be sent are refused', () => {
    assert.equal(h.check({ headers: { 'X-Api': 'v1', 'X-Num': 2 } }), undefined);
    assert.match(h.check({ headers: { 'X-Api': 'a\nb' } }) ?? '', /invalid value character in header/);
    assert.match(h.check({ headers: { 'X(Api)': 'v' } }) ?? '', /invalid field character in header/);
    assert.match(h.check({ headers: { set: { 'X Api': 'v' } } }) ?? '', /invalid field character in header/);
    assert.equal(h.check({ headers: { add: { 'X-A': '$remote_addr' }, set: { 'X-B': 1 }, remove: ['X-C'] } }), undefined);
  });
});

describe('proxy-rewrite: upstream target', () => {
  test('uri replaces the path and keeps the client query string', async () => {
    assert.equal((await rewrite({ uri: '/new' }, '/old?a=1&b=2')).uri, '/new?a=1&b=2');
    assert.equal((await rewrite({ uri: '/new' }, '/old')).uri, '/new');
  });

  test('a query in uri is kept and the client query is appended with &', async () => {
    assert.equal((await rewrite({ uri: '/new?x=1' }, '/old?a=1')).uri, '/new?x=1&a=1');
    assert.equal((await rewrite({ uri: '/new?x=1' }, '/old')).uri, '/new?x=1');
  });

  test('uri interpolates variables; a ? inside a value does not start a query', async () => {
    const r = await rewrite({ uri: '/u/$arg_name/${http_x_tag ?? none}' }, '/old?name=bob');
    assert.equal(r.uri, '/u/bob/none?name=bob');
    const q = await rewrite({ uri: '/u/$http_x_v' }, '/old', { headers: { 'x-v': 'a?b c' } });
    // As in APISIX: the value's `?` becomes %3F, whose `%` the path encoding then escapes too.
    assert.equal(q.uri, '/u/a%253Fb%20c');
  });

  test('regex_uri: the first matching pair wins, with $n captures', async () => {
    const conf = { regex_uri: ['^/api/v(\\d+)/(.*)', '/v$1-${2}', '^/api/(.*)', '/other/$1'] };
    assert.equal((await rewrite(conf, '/api/v2/users?page=3')).uri, '/v2-users?page=3');
    assert.equal((await rewrite(conf, '/api/users')).uri, '/other/users');
    // No pair matches: the path is sent as the router saw it.
    assert.equal((await rewrite(conf, '/elsewhere')).uri, '/elsewhere');
  });

  test('the rewritten path is percent-encoded as nginx escapes a URI', async () => {
    assert.equal((await rewrite({ regex_uri: ['^/a/(.*)', '/b/$1'] }, '/a/x%20y%25z')).uri, '/b/x%20y%25z');
    assert.equal(uriSafeEncode('/ü#?'), '/%C3%BC%23%3F');
    assert.equal(uriSafeEncode('/plain/path-1_~.x'), '/plain/path-1_~.x');
  });

  test('use_real_request_uri_unsafe starts from the raw target and sends it unencoded', async () => {
    const r = await rewrite({ use_real_request_uri_unsafe: true }, '/a/%2F/../b?q=%20');
    assert.equal(r.uri, '/a/%2F/../b?q=%20');
    const re = await rewrite({ use_real_request_uri_unsafe: true, regex_uri: ['^/a/(.*)', '/z/$1'] }, '/a/%2Fx?q=1');
    assert.equal(re.uri, '/z/%2Fx?q=1');
  });
});

describe('proxy-rewrite: host, method, headers', () => {
  test('host sets upstream_host; method changes the upstream method', async () => {
    const r = await rewrite({ host: 'backend.internal', method: 'POST' }, '/x');
    assert.equal(r.host, 'backend.internal');
    assert.equal(r.method, 'POST');
  });

  test('add appends, set overwrites, remove deletes — in that order', async () => {
    const r = await rewrite(
      { headers: { add: { 'X-Add': 'two' }, set: { 'X-Set': 'new', 'X-Empty': '' }, remove: ['X-Gone', 'X-Add-Then-Removed'] } },
      '/x',
      { headers: { 'x-add': 'one', 'x-set': 'old', 'x-gone': 'g', 'x-empty': 'e' } },
    );
    assert.deepEqual(r.headers['x-add'], ['one', 'two']);
    assert.equal(r.headers['x-set'], 'new');
    assert.equal(r.headers['x-empty'], null, 'an empty value removes the header, as nginx does');
    assert.equal(r.headers['x-gone'], null);
    assert.equal(r.ctx.request.header('x-gone'), undefined);
  });

  test('the legacy flat object sets headers; values take variables and regex_uri captures', async () => {
    const flat = await rewrite({ headers: { 'X-Client': '$remote_addr', 'X-Version': 3 } }, '/x', { remoteAddr: '10.1.2.3' });
    assert.equal(flat.headers['x-client'], '10.1.2.3');
    assert.equal(flat.headers['x-version'], '3');
    const cap = await rewrite({ regex_uri: ['^/u/(\\w+)', '/users'], headers: { set: { 'X-User': 'user-$1', 'X-None': '[$2]' } } }, '/u/ann');
    assert.equal(cap.headers['x-user'], 'user-ann');
    assert.equal(cap.headers['x-none'], '[]');
    assert.equal(cap.uri, '/users');
  });

  test('a variable carrying CR/LF cannot split the header', async () => {
    const r = await rewrite({ headers: { set: { 'X-Echo': '$arg_v' } } }, '/x?v=a%0D%0AX-Evil:%201');
    assert.equal(r.headers['x-echo'], 'a%0D%0AX-Evil: 1');
  });
});
