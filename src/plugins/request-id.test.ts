/**
 * request-id: the id generators, the id set on the upstream request, kept
 * when the client sent one, and added to the response unless the upstream
 * answered with its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness, upstreamView } from '../../test/helpers/plugin-harness.js';
import requestId, { ksuid, randomString } from './request-id.js';

const h = new PluginHarness(requestId);

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** rewrite, then the response head from an upstream that sent `upstreamHeaders`. */
async function exchange(conf: Record<string, unknown>, requestHeaders: Record<string, string> = {}, upstreamHeaders: Record<string, string> = {}) {
  const ctx = h.request('/x', { headers: requestHeaders });
  await h.run('rewrite', conf, ctx);
  const sent = upstreamView(ctx).headers;
  const res = await h.respond(conf, ctx, 200, upstreamHeaders, ['ok']);
  return { ctx, sent, res };
}

describe('request-id: generators', () => {
  test('randomString draws only from the alphabet, at the asked length, covering it', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const s = randomString('abc', 40);
      assert.match(s, /^[abc]{40}$/);
      for (const ch of s) seen.add(ch);
    }
    assert.equal(seen.size, 3);
    assert.equal(randomString('0123456789', 5000).length, 5000, 'longer than one draw of the pool');
  });

  test('ksuid: 27 base62 characters, sorted by time, different each call', () => {
    const a = ksuid(Date.UTC(2024, 0, 1));
    const b = ksuid(Date.UTC(2025, 0, 1));
    assert.match(a, /^[0-9A-Za-z]{27}$/);
    assert.ok(a < b, 'a later second sorts after');
    assert.notEqual(ksuid(), ksuid());
  });

  test('ksuid is the base62 of timestamp (4 bytes, seconds since the KSUID epoch) and 16 random bytes', () => {
    const id = ksuid(1_400_000_000_000 + 1_000 * 123_456);
    let value = 0n;
    for (const ch of id) value = value * 62n + BigInt('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.indexOf(ch));
    assert.equal(value >> 128n, 123_456n);
  });
});

describe('request-id: checks', () => {
  test('defaults are APISIX\'s, range_id included', () => {
    assert.deepEqual(h.conf({}), {
      header_name: 'X-Request-Id',
      include_in_response: true,
      algorithm: 'uuid',
      range_id: { length: 16, char_set: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789' },
    });
    assert.deepEqual(h.conf({ range_id: { length: 8 } }).range_id, { length: 8, char_set: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789' });
  });

  test('bad values are refused', () => {
    assert.match(h.check({ algorithm: 'snowflake' }) ?? '', /property "algorithm" validation failed: matches none of the enum values/);
    assert.match(h.check({ range_id: { length: 5 } }) ?? '', /expected 5 to be at least 6/);
    assert.match(h.check({ range_id: { char_set: 'abc' } }) ?? '', /string too short, expected at least 6, got 3/);
    assert.match(h.check({ header_name: 'X Request' }) ?? '', /err: invalid field character in header$/);
  });
});

describe('request-id: phases', () => {
  test('a uuid is generated, sent upstream, and returned to the client', async () => {
    const { ctx, sent, res } = await exchange(h.conf({}));
    const id = sent['x-request-id'];
    assert.match(String(id), UUID_V4);
    assert.equal(res.headers['x-request-id'], id);
    assert.equal(ctx['request-id-X-Request-Id'], id);
    assert.notEqual(ctx.var.request_id, id, "$request_id stays the gateway's own");
  });

  test('the client\'s id is kept (case-insensitive header name); an empty one is replaced', async () => {
    const kept = await exchange(h.conf({}), { 'x-request-id': 'client-1' });
    assert.equal(kept.sent['x-request-id'], undefined, 'nothing to change upstream');
    assert.equal(kept.res.headers['x-request-id'], 'client-1');
    const empty = await exchange(h.conf({}), { 'x-request-id': '' });
    assert.match(String(empty.sent['x-request-id']), UUID_V4);
  });

  test('the upstream\'s own response id wins', async () => {
    const { res } = await exchange(h.conf({}), {}, { 'X-Request-Id': 'from-upstream' });
    assert.equal(res.headers['x-request-id'], 'from-upstream');
  });

  test('include_in_response: false keeps the id off the response', async () => {
    const { sent, res } = await exchange(h.conf({ include_in_response: false }));
    assert.match(String(sent['x-request-id']), UUID_V4);
    assert.equal(res.headers['x-request-id'], undefined);
  });

  test('custom header name and the other algorithms', async () => {
    const nano = await exchange(h.conf({ header_name: 'Trace-Id', algorithm: 'nanoid' }));
    assert.match(String(nano.sent['trace-id']), /^[A-Za-z0-9_-]{21}$/);
    assert.equal(nano.res.headers['trace-id'], nano.sent['trace-id']);
    const range = await exchange(h.conf({ algorithm: 'range_id', range_id: { length: 10, char_set: 'xyz123' } }));
    assert.match(String(range.sent['x-request-id']), /^[xyz123]{10}$/);
    const k = await exchange(h.conf({ algorithm: 'ksuid' }));
    assert.match(String(k.sent['x-request-id']), /^[0-9A-Za-z]{27}$/);
  });

  test('ids differ from request to request', async () => {
    const conf = h.conf({ algorithm: 'nanoid' });
    const ids = new Set<unknown>();
    for (let i = 0; i < 100; i++) ids.add((await exchange(conf)).sent['x-request-id']);
    assert.equal(ids.size, 100);
  });
});
