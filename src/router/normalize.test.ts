import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRequestTarget, type NormalizeOptions, type NormalizeFailure } from './normalize.js';

function pathOf(target: string, options: NormalizeOptions = {}): string {
  const r = normalizeRequestTarget(target, options);
  assert.ok(r.ok, `${target} should be accepted, got ${r.ok ? '' : r.reason}`);
  return r.path;
}

function refusal(target: string, options: NormalizeOptions = {}): NormalizeFailure {
  const r = normalizeRequestTarget(target, options);
  assert.ok(!r.ok, `${target} should be refused`);
  return r.reason;
}

describe('normalizeRequestTarget: nginx $uri', () => {
  test('simple targets are returned as they are, without copying', () => {
    const target = '/blog/foo';
    const r = normalizeRequestTarget(target);
    assert.deepEqual(r, { ok: true, path: '/blog/foo', matchPath: '/blog/foo', query: undefined });
    assert.ok(r.ok && r.path === target);
    assert.equal(pathOf('/'), '/');
    assert.equal(pathOf('/a/b.c/d-e_f~g'), '/a/b.c/d-e_f~g');
  });

  test('the query starts at the first ?, ends at #, and an empty one is kept', () => {
    assert.deepEqual(normalizeRequestTarget('/a?x=1&y=%20?z'), { ok: true, path: '/a', matchPath: '/a', query: 'x=1&y=%20?z' });
    assert.deepEqual(normalizeRequestTarget('/a?'), { ok: true, path: '/a', matchPath: '/a', query: '' });
    assert.deepEqual(normalizeRequestTarget('/a?x#frag'), { ok: true, path: '/a', matchPath: '/a', query: 'x' });
    assert.deepEqual(normalizeRequestTarget('/a#frag?x'), { ok: true, path: '/a', matchPath: '/a', query: undefined });
    // A query never influences the path.
    assert.equal(pathOf('/a?b=/../..'), '/a');
  });

  test('consecutive slashes are merged', () => {
    assert.equal(pathOf('/azure///http////trigger'), '/azure/http/trigger');
    assert.equal(pathOf('//a'), '/a');
    assert.equal(pathOf('/a//'), '/a/');
    assert.equal(pathOf('///'), '/');
  });

  test('percent-escapes are decoded, including UTF-8 sequences', () => {
    assert.equal(pathOf('/hello%20world'), '/hello world');
    assert.equal(pathOf('/caf%C3%A9'), '/café');
    assert.equal(pathOf('/caf%c3%a9'), '/café');
    assert.equal(pathOf('/%41%62'), '/Ab');
    // Decoded ?, # and % are plain characters, not delimiters or new escapes.
    assert.equal(pathOf('/a%3Fb'), '/a?b');
    assert.equal(pathOf('/a%23b'), '/a#b');
    assert.equal(pathOf('/a%2541'), '/a%41');
    // '+' is not a space in a path.
    assert.equal(pathOf('/a+b'), '/a+b');
  });

  test('%2F decodes to a slash that merges and separates segments', () => {
    assert.equal(pathOf('/a%2Fb'), '/a/b');
    assert.equal(pathOf('/a%2f%2Fb'), '/a/b');
    assert.equal(pathOf('/a/b%2F..%2Fc'), '/a/c');
  });

  test('dot segments are resolved', () => {
    assert.equal(pathOf('/a/./b'), '/a/b');
    assert.equal(pathOf('/a/b/../c'), '/a/c');
    assert.equal(pathOf('/a/b/..'), '/a/');
    assert.equal(pathOf('/a/.'), '/a/');
    assert.equal(pathOf('/.'), '/');
    assert.equal(pathOf('/a/..'), '/');
    assert.equal(pathOf('/a/b/c/../../d'), '/a/d');
    assert.equal(pathOf('/a/%2e%2E/b'), '/b');
    assert.equal(pathOf('/a/.%2e/b'), '/b');
    assert.equal(pathOf('/a/%2e/b'), '/a/b');
    assert.equal(pathOf('/a//../b'), '/b');
    // Not dot segments: dots inside a name.
    assert.equal(pathOf('/a/.b/..c/.../c..'), '/a/.b/..c/.../c..');
    assert.equal(pathOf('/a/..%3F'), '/a/..?');
  });

  test('.. above the root is refused, as nginx answers 400', () => {
    assert.equal(refusal('/..'), 'above-root');
    assert.equal(refusal('/../a'), 'above-root');
    assert.equal(refusal('/a/../..'), 'above-root');
    assert.equal(refusal('/a/../../b'), 'above-root');
    assert.equal(refusal('/%2e%2e'), 'above-root');
    assert.equal(refusal('/a/..%2F..%2Fetc'), 'above-root');
  });

  test('invalid escapes and escaped NUL are refused', () => {
    assert.equal(refusal('/a%'), 'invalid-escape');
    assert.equal(refusal('/a%4'), 'invalid-escape');
    assert.equal(refusal('/a%zz'), 'invalid-escape');
    assert.equal(refusal('/a%g0'), 'invalid-escape');
    assert.equal(refusal('/a%00b'), 'escaped-nul');
    // An invalid escape in the query is the query's business.
    assert.equal(pathOf('/a?x=%zz'), '/a');
  });

  test('only origin-form targets are accepted', () => {
    assert.equal(refusal('*'), 'not-origin-form');
    assert.equal(refusal('http://example.com/a'), 'not-origin-form');
    assert.equal(refusal(''), 'not-origin-form');
    assert.equal(refusal('a/b'), 'not-origin-form');
  });

  test('control characters in the path are refused', () => {
    assert.equal(refusal('/a b'), 'control-character');
    assert.equal(refusal('/a\tb'), 'control-character');
    assert.equal(refusal('/a\x7fb'), 'control-character');
  });

  test('non-ASCII input characters are taken as Unicode text', () => {
    assert.equal(pathOf('/café/./x'), '/café/x');
    assert.equal(pathOf('/日本/%E8%AA%9E'), '/日本/語');
  });
});

describe('normalizeRequestTarget: apisix options', () => {
  test('delete_uri_tail_slash strips one trailing slash, never the root', () => {
    const options = { deleteUriTailSlash: true };
    assert.equal(pathOf('/a/', options), '/a');
    assert.equal(pathOf('/a//', options), '/a');
    assert.equal(pathOf('/a/b/..', options), '/a');
    assert.equal(pathOf('/', options), '/');
    assert.equal(pathOf('/a', options), '/a');
    assert.equal(pathOf('/a/'), '/a/');
  });

  test('normalize_uri_like_servlet drops ;params per segment', () => {
    const options = { normalizeUriLikeServlet: true };
    assert.equal(pathOf('/a;jsessionid=1/b;x=y', options), '/a/b');
    assert.equal(pathOf('/a/b;', options), '/a/b');
    assert.equal(pathOf('/a/;x', options), '/a/');
    // ngx.re.split drops trailing empty fields, so a trailing slash goes too.
    assert.equal(pathOf('/a;p/b/', options), '/a/b');
    assert.equal(pathOf('/a;p', {}), '/a;p');
    assert.equal(refusal('/a/..;x/b', options), 'dot-segment-with-parameter');
    assert.equal(refusal('/a/.;x/b', options), 'dot-segment-with-parameter');
    assert.equal(refusal('/a/;x/b', options), 'empty-segment-with-parameters');
    assert.equal(refusal('/a/%252e%252e;x/b', options), 'encoded-dot-segment');
  });

  test('match_uri_encoded_slash keeps %2F for matching when nothing else was normalised', () => {
    const options = { matchUriEncodedSlash: true };
    assert.deepEqual(normalizeRequestTarget('/blog/cat%2fdog?x=1', options), {
      ok: true,
      path: '/blog/cat/dog',
      matchPath: '/blog/cat%2Fdog',
      query: 'x=1',
    });
    const mixed = normalizeRequestTarget('/v1/a%2Fb/caf%C3%A9', options);
    assert.ok(mixed.ok);
    assert.equal(mixed.matchPath, '/v1/a%2Fb/café');
    // Anything beyond decoding (dot segments, merged slashes) falls back to the normalised path.
    for (const target of ['/a/b/..%2F..%2Fc/d%2Fe', '/a//b%2Fc', '/a/%2e%2e/b%2Fc', '/a%2F%2Fb']) {
      const r = normalizeRequestTarget(target, options);
      assert.ok(r.ok, target);
      assert.equal(r.matchPath, r.path, target);
    }
    // It gives way to delete_uri_tail_slash when that rewrote the path.
    const tail = normalizeRequestTarget('/a%2Fb/', { ...options, deleteUriTailSlash: true });
    assert.ok(tail.ok);
    assert.equal(tail.matchPath, '/a/b');
    // Off by default.
    const off = normalizeRequestTarget('/blog/cat%2Fdog');
    assert.ok(off.ok);
    assert.equal(off.matchPath, '/blog/cat/dog');
  });
});
