import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixTree } from './prefix-tree.js';

function matches(tree: PrefixTree<string>, text: string): string[] {
  const out: string[] = [];
  for (let m = tree.longestPrefixOf(text); m; m = m.shorter) out.push(m.value);
  return out;
}

function build(keys: string[]): PrefixTree<string> {
  const tree = new PrefixTree<string>();
  for (const k of keys) tree.upsert(k, () => k);
  tree.seal();
  return tree;
}

test('yields every stored prefix of the text, longest first', () => {
  const tree = build(['/blog/', '/blog/foo/', '/blog/foo/a/', '/blog/foo/c/', '/b', '/']);
  assert.deepEqual(matches(tree, '/blog/foo/a/b/c'), ['/blog/foo/a/', '/blog/foo/', '/blog/', '/b', '/']);
  assert.deepEqual(matches(tree, '/blog/foo/gloo'), ['/blog/foo/', '/blog/', '/b', '/']);
  assert.deepEqual(matches(tree, '/blog/fo'), ['/blog/', '/b', '/']);
  assert.deepEqual(matches(tree, '/x'), ['/']);
  assert.deepEqual(matches(tree, ''), []);
});

test('edges split when keys share only part of a label, in any insertion order', () => {
  const keys = ['/api/users/', '/api/', '/api/us', '/apx', '/api/users/admin/', '/a'];
  for (const order of [keys, [...keys].reverse()]) {
    const tree = build(order);
    assert.deepEqual(matches(tree, '/api/users/admin/1'), ['/api/users/admin/', '/api/users/', '/api/us', '/api/', '/a']);
    assert.deepEqual(matches(tree, '/apx/1'), ['/apx', '/a']);
    assert.deepEqual(matches(tree, '/api/u'), ['/api/', '/a']);
    assert.equal(tree.size, keys.length);
  }
});

test('the empty key matches everything', () => {
  const tree = build(['', 'moc.oof.']);
  assert.deepEqual(matches(tree, 'moc.oof.a'), ['moc.oof.', '']);
  assert.deepEqual(matches(tree, 'gro.rab'), ['']);
});

test('upsert returns the existing value and keys report their full text', () => {
  const tree = new PrefixTree<string[]>();
  tree.upsert('/a/', () => ['first']).push('second');
  tree.upsert('/a/b', () => []);
  assert.deepEqual(tree.upsert('/a/', () => ['never']), ['first', 'second']);
  tree.seal();
  const m = tree.longestPrefixOf('/a/bc');
  assert.equal(m?.key, '/a/b');
  assert.equal(m?.shorter?.key, '/a/');
  assert.throws(() => tree.upsert('/c', () => []), /sealed/);
});

test('agrees with a brute-force scan on random keys', () => {
  let seed = 42;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const word = (len: number): string => Array.from({ length: len }, () => 'ab/c'[random(4)]).join('');
  const keys = [...new Set(Array.from({ length: 300 }, () => word(1 + random(8))))];
  const tree = build(keys);
  for (let i = 0; i < 500; i++) {
    const text = word(random(12));
    const expected = keys.filter((k) => text.startsWith(k)).sort((a, b) => b.length - a.length);
    assert.deepEqual(matches(tree, text), expected, text);
  }
});

test('reversed search finds keys stored backwards, i.e. suffixes of the text', () => {
  const suffixes = ['.foo.com', 'foo.com', '.a.foo.com', '', 'bar.org'];
  const tree = build(suffixes.map((s) => Array.from(s).reverse().join('')));
  const found = (text: string): string[] => {
    const out: string[] = [];
    for (let m = tree.longestPrefixOfReversed(text); m; m = m.shorter) out.push(Array.from(m.key).reverse().join(''));
    return out;
  };
  assert.deepEqual(found('x.a.foo.com'), ['.a.foo.com', '.foo.com', 'foo.com', '']);
  assert.deepEqual(found('foo.com'), ['foo.com', '']);
  assert.deepEqual(found('xfoo.com'), ['foo.com', '']);
  assert.deepEqual(found('oo.com'), ['']);
  assert.deepEqual(found(''), ['']);
});
