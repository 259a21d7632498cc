/**
 * response-rewrite's checks and its header_filter/body_filter on real
 * request contexts: status, headers, body replacement, filters (plain,
 * chunked and compressed bodies) and the `vars` condition.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import responseRewrite from './response-rewrite.js';

const h = new PluginHarness(responseRewrite);

async function respond(conf: Record<string, unknown>, status: number, headers: Record<string, string | string[]>, chunks: Array<string | Buffer>, target = '/x') {
  const ctx = h.request(target);
  const res = await h.respond(h.conf(conf), ctx, status, headers, chunks);
  return { ...res, text: res.body.toString() };
}

describe('response-rewrite: checks', () => {
  test('body and filters exclude each other', () => {
    assert.notEqual(h.check({ body: 'x', filters: [{ regex: 'a', replace: 'b' }] }), undefined);
  });

  test('body_base64 needs valid base64 content', () => {
    assert.match(h.check({ body_base64: true }) ?? '', /invalid base64 content/);
    assert.match(h.check({ body: 'not base64!', body_base64: true }) ?? '', /invalid base64 content/);
    assert.equal(h.check({ body: Buffer.from('hi').toString('base64'), body_base64: true }), undefined);
  });

  test('vars and filter regexes are compiled when written', () => {
    assert.match(h.check({ vars: ['status', '==', 200] }) ?? '', /^failed to check the configuration of plugin response-rewrite err: failed to validate the 'vars' expression: /);
    assert.match(h.check({ filters: [{ regex: '(', replace: 'x' }] }) ?? '', /regex "\(" validation failed: /);
    assert.match(h.check({ filters: [{ regex: 'a', replace: '$z' }] }) ?? '', /regex "a" validation failed: invalid capturing variable name/);
  });

  test('status_code is 200..598; header add lines must be "Name: value"', () => {
    assert.match(h.check({ status_code: 199 }) ?? '', /property "status_code" validation failed/);
    assert.match(h.check({ headers: { add: ['X A: b'] } }) ?? '', /invalid header to add/);
    assert.equal(h.check({ headers: { add: ['Set-Cookie: a=b; Max-Age=60'] } }), undefined);
  });
});

describe('response-rewrite: head', () => {
  test('status_code and headers: add appends, set overwrites, remove deletes; values take variables', async () => {
    const res = await respond(
      { status_code: 201, headers: { add: ['Set-Cookie: b=2'], set: { 'X-Path': '$uri', 'X-N': 7 }, remove: ['X-Internal'] } },
      200,
      { 'set-cookie': ['a=1'], 'x-internal': 'secret', 'content-length': '2' },
      ['ok'],
      '/some/path',
    );
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-path'], '/some/path');
    assert.equal(res.headers['x-n'], '7');
    assert.equal(res.headers['x-internal'], undefined);
    assert.equal(res.headers['content-length'], '2', 'the length stays when the body does not change');
    assert.equal(res.text, 'ok');
  });

  test('the legacy flat headers object sets headers', async () => {
    const res = await respond({ headers: { 'X-Server': 'fngate' } }, 200, {}, ['']);
    assert.equal(res.headers['x-server'], 'fngate');
  });
});

describe('response-rewrite: body', () => {
  test('body replaces the whole body (all chunks) and drops the headers describing the old one', async () => {
    const res = await respond(
      { body: '{"replaced":true}' },
      200,
      { 'content-length': '10', etag: '"abc"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'content-encoding': 'gzip' },
      ['first', 'second', 'third'],
    );
    assert.equal(res.text, '{"replaced":true}');
    for (const name of ['content-length', 'etag', 'last-modified', 'content-encoding']) assert.equal(res.headers[name], undefined, name);
  });

  test('body_base64 is decoded', async () => {
    const res = await respond({ body: Buffer.from('binary\u0000ok').toString('base64'), body_base64: true }, 200, {}, ['x']);
    assert.equal(res.text, 'binary\u0000ok');
  });

  test('filters substitute over the whole body, across chunk boundaries, once or globally', async () => {
    const conf = { filters: [{ regex: 'hello', replace: 'bye', scope: 'global' }, { regex: '(\\d+)', replace: '<$1>' }] };
    const res = await respond(conf, 200, { 'content-length': '23' }, ['hel', 'lo 12 hello', ' 34']);
    assert.equal(res.text, 'bye <12> bye 34');
    assert.equal(res.headers['content-length'], undefined);
  });

  test('filter options: i for caseless', async () => {
    const res = await respond({ filters: [{ regex: 'WORLD', replace: 'there', options: 'ji' }] }, 200, {}, ['hello world']);
    assert.equal(res.text, 'hello there');
  });

  test('gzip and brotli bodies are decoded for the filters and sent plain', async () => {
    const conf = { filters: [{ regex: 'secret', replace: '******', scope: 'global' }] };
    const gz = await respond(conf, 200, { 'content-encoding': 'gzip' }, [gzipSync('a secret and a secret')]);
    assert.equal(gz.text, 'a ****** and a ******');
    assert.equal(gz.headers['content-encoding'], undefined);
    const br = await respond(conf, 200, { 'content-encoding': 'br' }, [brotliCompressSync('secret')]);
    assert.equal(br.text, '******');
  });

  test('a body in an encoding the filters cannot read passes through untouched, still labelled', async () => {
    const raw = Buffer.from([1, 2, 3, 4]);
    const res = await respond({ filters: [{ regex: 'x', replace: 'y' }] }, 200, { 'content-encoding': 'zstd', 'content-length': '4' }, [raw]);
    assert.deepEqual(res.body, raw);
    assert.equal(res.headers['content-encoding'], 'zstd');
  });

  test('bytes are kept as they came when no filter matches', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x41]);
    const res = await respond({ filters: [{ regex: 'zzz', replace: 'y' }] }, 200, {}, [bytes]);
    assert.deepEqual(res.body, bytes);
  });
});

describe('response-rewrite: vars', () => {
  const conf = { vars: [['status', '==', 500]], status_code: 503, body: 'maintenance' };

  test('rewrites only when the expression matches, with $status the response status', async () => {
    const hit = await respond(conf, 500, {}, ['boom']);
    assert.equal(hit.status, 503);
    assert.equal(hit.text, 'maintenance');
    const miss = await respond(conf, 200, {}, ['fine']);
    assert.equal(miss.status, 200);
    assert.equal(miss.text, 'fine');
  });
});
