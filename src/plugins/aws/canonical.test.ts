import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalHeaders, canonicalQuery, canonicalUri, uriEncode } from './canonical.js';

describe('uriEncode', () => {
  test('keeps only the RFC 3986 unreserved set, upper-case hex per UTF-8 byte', () => {
    assert.equal(uriEncode("AZaz09-_.~ !'()*/+=&%"), 'AZaz09-_.~%20%21%27%28%29%2A%2F%2B%3D%26%25');
    assert.equal(uriEncode('\u00e9\u1234'), '%C3%A9%E1%88%B4');
  });

  test('a lone surrogate is encoded as U+FFFD instead of throwing', () => {
    assert.equal(uriEncode('a\uD800b'), 'a%EF%BF%BDb');
  });
});

describe('canonicalUri (every service but S3)', () => {
  const cases: ReadonlyArray<readonly [wire: string, canonical: string, why: string]> = [
    ['', '/', 'an empty path is the root'],
    ['/', '/', 'the root'],
    ['/default/fn', '/default/fn', 'a plain path'],
    ['/default/fn/', '/default/fn/', 'AWS keeps the trailing slash (APISIX strips it)'],
    ['/a%20b', '/a%2520b', 'the wire form is encoded once more (APISIX signs the decoded path)'],
    ['/a%2Fb/c', '/a%252Fb/c', 'an encoded slash stays inside its segment'],
    ['/x/\u00e9', '/x/%C3%A9', 'raw UTF-8 is encoded'],
    ['//a///b//', '/a/b/', 'empty segments collapse'],
    ['/a/./b/../c', '/a/c', 'dot segments resolve'],
    ['/a/b/..', '/a', 'a final `..` leaves no trailing slash'],
    ['/../..', '/', '`..` stops at the root'],
  ];
  for (const [wire, canonical, why] of cases) {
    test(`${JSON.stringify(wire)} → ${canonical}: ${why}`, () => {
      assert.equal(canonicalUri(wire, 'execute-api'), canonical);
    });
  }

  test('S3 signs the wire path as it is', () => {
    assert.equal(canonicalUri('/bucket//a%20b/./', 's3'), '/bucket//a%20b/./');
    assert.equal(canonicalUri('', 's3'), '/');
  });
});

describe('canonicalQuery', () => {
  test('APISIX\'s encoded, repeated and valueless case (spec/serverless.md §6.2)', () => {
    // client: ?with%20space=a%2Fb%20c&multi=m2&multi=m1&flag&a=*&a-=x
    assert.equal(
      canonicalQuery([['with space', 'a/b c'], ['multi', 'm2'], ['multi', 'm1'], ['flag', ''], ['a', '*'], ['a-', 'x']]),
      'a=%2A&a-=x&flag=&multi=m1&multi=m2&with%20space=a%2Fb%20c',
    );
  });

  test('the self-check arguments of spec/serverless.md §6.2', () => {
    assert.equal(canonicalQuery([['b', '2'], ['a', '1 x'], ['flag', '']]), 'a=1%20x&b=2&flag=');
  });

  test('sorting is by encoded bytes: upper case before lower case, names before values', () => {
    assert.equal(canonicalQuery([['b', '1'], ['B', '2'], ['a', 'z'], ['a', 'Z'], ['a', '%']]), 'B=2&a=%25&a=Z&a=z&b=1');
  });

  test('no arguments, no query', () => {
    assert.equal(canonicalQuery([]), '');
  });
});

describe('canonicalHeaders', () => {
  test('sorted lower-case names, trimmed values with inner whitespace runs collapsed to one space, multi-values joined by commas', () => {
    const { text, signedHeaders } = canonicalHeaders({
      'x-amz-date': '20240101T000000Z',
      host: 'h.example',
      accept: '  */*  ',
      'x-list': ['a', '  b   c '],
      'x-quoted': '"a   b"',
      'x-tab': 'a\tb',
    });
    assert.equal(text, 'accept:*/*\nhost:h.example\nx-amz-date:20240101T000000Z\nx-list:a,b c\nx-quoted:"a b"\nx-tab:a b\n');
    assert.equal(signedHeaders, 'accept;host;x-amz-date;x-list;x-quoted;x-tab');
  });

  test('hop-by-hop headers and headers proxies rewrite are not signed', () => {
    const { signedHeaders } = canonicalHeaders({
      host: 'h', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'user-agent': 'curl/8', expect: '100-continue',
      'transfer-encoding': 'chunked', authorization: 'x', 'x-amzn-trace-id': 'Root=1', te: 'trailers', 'x-amz-date': 'd',
      'x-api-key': 'k', 'content-type': 'text/plain', undefinedHeader: undefined,
    });
    assert.equal(signedHeaders, 'content-type;host;x-amz-date;x-api-key');
  });
});
