/**
 * Relaying a function's answer (spec/serverless.md §3.3).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { relayedHeaders, toVerdict } from './response.js';

describe('relayedHeaders', () => {
  test('end-to-end fields are kept, multi-values stay multi-valued', () => {
    assert.deepEqual(relayedHeaders({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-extra-header': 'MUST' }), {
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
      'x-extra-header': 'MUST',
    });
  });

  test('hop-by-hop fields, framing, Server and fields named in Connection are dropped', () => {
    assert.deepEqual(relayedHeaders({
      connection: 'keep-alive, X-Private',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      trailer: 'x-checksum',
      'content-length': '13',
      server: 'Kestrel',
      'x-private': 'hop',
      date: 'Mon, 01 Jan 2024 00:00:00 GMT',
    }), { date: 'Mon, 01 Jan 2024 00:00:00 GMT' });
  });
});

describe('toVerdict', () => {
  test('[status, body, headers] with the body as bytes, even when empty', () => {
    const verdict = toVerdict({ status: 401, headers: { 'content-length': '0' }, body: Buffer.alloc(0) });
    assert.ok(Array.isArray(verdict));
    const [status, body, headers] = verdict as readonly [number, Buffer, Record<string, string>];
    assert.equal(status, 401);
    assert.ok(Buffer.isBuffer(body) && body.length === 0, 'an empty body, not nginx\'s error page');
    assert.deepEqual(headers, {});
  });
});
