import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_KEYS_END, decodeKeyValue, decodeText, encodeText, keyAfter, prefixRange } from './codec.js';

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');
const text = (base64: string) => Buffer.from(base64, 'base64');

describe('prefixRange', () => {
  test('ends the range at the prefix with its last byte incremented', () => {
    const range = prefixRange('/apisix/routes/');
    assert.equal(decodeText(range.key), '/apisix/routes/');
    assert.equal(decodeText(range.range_end), '/apisix/routes0');
  });

  test('works on UTF-8 bytes, not UTF-16 units', () => {
    // 'é' is C3 A9 in UTF-8: the end is C3 AA.
    assert.deepEqual(text(prefixRange('/é').range_end), Buffer.from([0x2f, 0xc3, 0xaa]));
  });

  test('drops trailing 0xff bytes, which cannot be incremented', () => {
    // U+FFFF is EF BF BF: the last byte below 0xff is EF, so the end is F0.
    assert.deepEqual(text(prefixRange('a\uffff').range_end), Buffer.from([0x61, 0xef, 0xbf, 0xc0]));
    assert.equal(prefixRange('').key, ALL_KEYS_END);
    assert.equal(prefixRange('').range_end, ALL_KEYS_END);
  });

  test('keeps every key of the prefix inside the range and sibling prefixes outside', () => {
    const { key, range_end } = prefixRange('/apisix/routes/');
    const inRange = (k: string) => Buffer.compare(Buffer.from(k), text(key)) >= 0 && Buffer.compare(Buffer.from(k), text(range_end)) < 0;
    assert.ok(inRange('/apisix/routes/'));
    assert.ok(inRange('/apisix/routes/\u{1F600}'));
    assert.ok(!inRange('/apisix/routes2/1'));
    assert.ok(!inRange('/apisix/route'));
  });
});

describe('keyAfter', () => {
  test('appends a zero byte: the smallest key greater than the given one', () => {
    assert.equal(keyAfter(encodeText('/a')), b64([0x2f, 0x61, 0x00]));
  });
});

describe('decodeKeyValue', () => {
  test('decodes base64 and int64 strings and fills proto3 zero values', () => {
    assert.deepEqual(
      decodeKeyValue({ key: encodeText('/apisix/routes/1'), value: encodeText('{"uri":"/ä"}'), create_revision: '2', mod_revision: '5', version: '3' }),
      { key: '/apisix/routes/1', value: '{"uri":"/ä"}', createRevision: 2, modRevision: 5, version: 3 },
    );
    // A delete event's tombstone carries only the key and the revision.
    assert.deepEqual(decodeKeyValue({ key: encodeText('/k'), mod_revision: '9' }), { key: '/k', value: '', createRevision: 0, modRevision: 9, version: 0 });
  });

  test('adds lease only when the key has one', () => {
    assert.equal('lease' in decodeKeyValue({ key: encodeText('/k'), lease: '0' }), false);
    assert.equal(typeof decodeKeyValue({ key: encodeText('/k'), lease: '7587869036224931337' }).lease, 'number');
  });
});
