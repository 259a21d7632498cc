import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeQueryComponent, parseCookies, parseQuery } from './args.js';

test('parseQuery keeps repeated values, bare flags as true and empty values as ""', () => {
  const q = parseQuery('a=1&a=2&flag&e=&&=x');
  assert.deepEqual(q.get('a'), ['1', '2']);
  assert.deepEqual(q.get('flag'), [true]);
  assert.deepEqual(q.get('e'), ['']);
  assert.equal(q.has(''), false);
});

test('query components decode + and percent escapes; malformed escapes stay literal', () => {
  assert.equal(decodeQueryComponent('a+b%20c'), 'a b c');
  assert.equal(decodeQueryComponent('%40%23%24'), '@#$');
  assert.equal(decodeQueryComponent('100%'), '100%');
  assert.equal(decodeQueryComponent('%E4%B8%AD'), '中');
  assert.equal(decodeQueryComponent('%zz%41'), '%zzA');
});

test('parseCookies takes the first value per name and strips quotes', () => {
  const c = parseCookies('a=1; b="two"; a=3; Bad; C=x=y');
  assert.equal(c.get('a'), '1');
  assert.equal(c.get('b'), 'two');
  assert.equal(c.get('C'), 'x=y');
  assert.equal(c.has('Bad'), false);
  assert.equal(parseCookies(undefined).size, 0);
});
