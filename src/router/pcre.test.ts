import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePcre, PcreError } from './pcre.js';

describe('compilePcre', () => {
  test('plain patterns behave as in JavaScript', () => {
    assert.equal(compilePcre('^/api/v\\d+', false).test('/api/v12/x'), true);
    assert.equal(compilePcre('abc', false).test('xABCx'), false);
    assert.equal(compilePcre('abc', true).test('xABCx'), true);
  });

  test('leading option settings become flags', () => {
    assert.equal(compilePcre('(?i)abc', false).test('ABC'), true);
    assert.equal(compilePcre('(?s)a.b', false).test('a\nb'), true);
    assert.equal(compilePcre('a.b', false).test('a\nb'), false);
    assert.throws(() => compilePcre('(?x)a b', false), PcreError);
  });

  test('Python-style named groups and back-references', () => {
    const re = compilePcre('(?P<word>\\w+)-(?P=word)', false);
    assert.equal(re.test('ab-ab'), true);
    assert.equal(re.test('ab-cd'), false);
  });

  test('anchors \\A, \\z, \\Z and PCRE $ before a final newline', () => {
    assert.equal(compilePcre('\\Aabc\\z', false).test('abc'), true);
    assert.equal(compilePcre('\\Aabc\\z', false).test('abc\n'), false);
    assert.equal(compilePcre('abc\\Z', false).test('abc\n'), true);
    assert.equal(compilePcre('abc$', false).test('abc\n'), true);
    assert.equal(compilePcre('abc$', false).test('abc\nx'), false);
    assert.equal(compilePcre('(?m)^b$', false).test('a\nb\nc'), true);
  });

  test('\\Q...\\E quotes metacharacters', () => {
    assert.equal(compilePcre('\\Qa.b*\\E$', false).test('a.b*'), true);
    assert.equal(compilePcre('\\Qa.b*\\E$', false).test('axb'), false);
  });

  test('POSIX classes and a leading ] inside brackets', () => {
    assert.equal(compilePcre('^[[:alpha:]]+$', false).test('abcXYZ'), true);
    assert.equal(compilePcre('^[[:alpha:]]+$', false).test('abc1'), false);
    assert.equal(compilePcre('^[[:digit:][:upper:]]+$', false).test('A1B2'), true);
    assert.equal(compilePcre('^[]a]+$', false).test(']a]'), true);
    assert.equal(compilePcre('^[^]a]+$', false).test('bcd'), true);
    assert.equal(compilePcre('^[^]a]+$', false).test('b]d'), false);
    assert.throws(() => compilePcre('[[:nope:]]', false), PcreError);
  });

  test('\\x{hh} and \\h', () => {
    assert.equal(compilePcre('\\x{41}', false).test('A'), true);
    assert.equal(compilePcre('a\\hb', false).test('a\tb'), true);
  });

  test('constructs JavaScript lacks are refused with the reason', () => {
    assert.throws(() => compilePcre('a++', false), (e: unknown) => e instanceof PcreError && e.message === 'Nothing to repeat');
    assert.throws(() => compilePcre('(?>a)', false), PcreError);
    assert.throws(() => compilePcre('abc\\', false), /\\ at end of pattern/);
  });
});
