import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeys, SortedKeys } from './key-order.js';

describe('compareKeys', () => {
  test('orders like a bytewise comparison of the UTF-8 encodings', () => {
    const alphabet = ['a', 'B', '/', '0', '\u00e9', '\u07ff', '\ud7ff', '\ue000', '\uff21', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];
    const keys: string[] = [''];
    for (const x of alphabet) for (const y of alphabet) keys.push(x, x + y, `/apisix/${x}${y}`);
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual([...keys].sort(compareKeys), byBytes);
  });

  test('is 0 only for equal keys and a prefix sorts first', () => {
    assert.equal(compareKeys('/a', '/a'), 0);
    assert.ok(compareKeys('/a', '/a/') < 0);
    assert.ok(compareKeys('/apisix/routes/', '/apisix/routes2/') < 0);
  });
});

describe('SortedKeys', () => {
  test('keeps keys ordered and unique, and lists exactly the keys under a prefix', () => {
    const keys = new SortedKeys();
    for (const key of ['/r/2', '/r2/1', '/r/10', '/r/1', '/r', '/q/9', '/r/2']) keys.add(key);
    assert.equal(keys.size, 6);
    assert.deepEqual([...keys.withPrefix('/r/')], ['/r/1', '/r/10', '/r/2']);
    assert.deepEqual([...keys.withPrefix('/r')], ['/r', '/r/1', '/r/10', '/r/2', '/r2/1']);
    assert.deepEqual([...keys.withPrefix('/zzz')], []);
    keys.remove('/r/10');
    keys.remove('/absent');
    assert.deepEqual([...keys.withPrefix('')], ['/q/9', '/r', '/r/1', '/r/2', '/r2/1']);
  });

  test('reset replaces the content, sorted', () => {
    const keys = new SortedKeys();
    keys.add('/old');
    keys.reset(['/b', '/a', '/c']);
    assert.deepEqual([...keys.withPrefix('/')], ['/a', '/b', '/c']);
  });
});
