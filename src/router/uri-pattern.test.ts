import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathRegex, parseUriPattern } from './uri-pattern.js';

/** Captures by name, or null when the path does not fit. */
function capture(pattern: string, path: string, withParameters = false): Record<string, string | undefined> | null {
  const p = parseUriPattern(pattern, withParameters);
  assert.ok(p.check, `${pattern} should have a path check`);
  const values = p.check.capture(path);
  if (values === null) return null;
  return Object.fromEntries(p.check.names.map((name, i) => [name, values[i]]));
}

test('exact paths, including :name in the default routers', () => {
  assert.deepEqual(parseUriPattern('/blog/foo', false), { pattern: '/blog/foo', exact: true, key: '/blog/foo' });
  assert.deepEqual(parseUriPattern('/user/:id', false), { pattern: '/user/:id', exact: true, key: '/user/:id' });
  assert.deepEqual(parseUriPattern('/blog/foo', true), { pattern: '/blog/foo', exact: true, key: '/blog/foo' });
});

test('prefixes end at the first * (or : with parameters)', () => {
  const bar = parseUriPattern('/blog/bar*', false);
  assert.equal(bar.exact, false);
  assert.equal(bar.key, '/blog/bar');
  assert.equal(bar.check, undefined, 'no * or : segment: nothing checked, nothing captured');
  assert.equal(parseUriPattern('/blog/*', false).key, '/blog/');
  assert.equal(parseUriPattern('/a/*/c', false).key, '/a/');
  assert.equal(parseUriPattern('/user/:id', true).key, '/user/');
  assert.equal(parseUriPattern('/user/:id/*', true).key, '/user/');
  assert.equal(parseUriPattern('*', false).key, '');
});

test('a bare * captures the rest as :ext, a named one under its name', () => {
  assert.deepEqual(capture('/blog/*', '/blog/a/b'), { ':ext': 'a/b' });
  assert.deepEqual(capture('/blog/*', '/blog/'), { ':ext': '' });
  assert.equal(capture('/blog/*', '/blog'), null);
  assert.deepEqual(capture('/blog/*path', '/blog/x/y'), { path: 'x/y' });
  assert.deepEqual(capture('*', '/x'), { ':ext': '/x' });
});

test('* in the middle spans segments and newlines', () => {
  assert.deepEqual(capture('/a/*/c', '/a/x/y/c'), { ':ext': 'x/y' });
  assert.deepEqual(capture('/a/*/c', '/a/x\ny/c'), { ':ext': 'x\ny' });
  assert.equal(capture('/a/*/c', '/a/x/d'), null);
  assert.equal(capture('/a/*/c', '/a/x/c/d'), null);
});

test(':name captures exactly one non-empty segment', () => {
  assert.deepEqual(capture('/user/:id', '/user/5', true), { id: '5' });
  assert.equal(capture('/user/:id', '/user/5/x', true), null);
  assert.equal(capture('/user/:id', '/user/', true), null);
  assert.deepEqual(capture('/user/:id/*rest', '/user/5/a/b', true), { id: '5', rest: 'a/b' });
  assert.equal(capture('/user/:id/*rest', '/user//a', true), null);
  assert.deepEqual(capture('/:a/:b/', '/x/y/', true), { a: 'x', b: 'y' });
  assert.equal(capture('/:a/:b/', '/x/y', true), null);
  // In the default routers a :segment of a prefix pattern is still a segment capture.
  assert.deepEqual(capture('/user/:id/*', '/user/:id/x'), { id: ':id', ':ext': 'x' });
});

test('literal segments are matched literally', () => {
  assert.deepEqual(capture('/a.b/(x)/*', '/a.b/(x)/z'), { ':ext': 'z' });
  assert.equal(capture('/a.b/(x)/*', '/aXb/(x)/z'), null);
  assert.equal(compilePathRegex('/a.b/(x)/*')?.regex.test('/aXb/(x)/z'), false);
});

test('the token walk agrees with the segment regex on random paths', () => {
  const patterns = ['/a/:x', '/a/:x/', '/a/:x/b/:y', '/:x/:y/*', '/a/*', '/a/*rest', '/:x', '/a/b:c/:d', '/:x/b/*z', '*', '/*'];
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = ['a', 'b', '/', '/', 'x', ':', '\n'];
  for (const pattern of patterns) {
    const viaRegex = compilePathRegex(pattern);
    const check = parseUriPattern(pattern, true).check;
    assert.ok(viaRegex && check, pattern);
    for (let i = 0; i < 2000; i++) {
      const path = `/${Array.from({ length: random(9) }, () => alphabet[random(alphabet.length)]).join('')}`;
      const m: RegExpExecArray | null = viaRegex.regex.exec(path);
      assert.deepEqual(check.capture(path), m === null ? null : m.slice(1), `${pattern} vs ${JSON.stringify(path)}`);
    }
  }
});
