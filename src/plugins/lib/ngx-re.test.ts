import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PcreError } from '../../router/pcre.js';
import { compileNgxRegex, compileReplacement, replaceMatches, ReplacementTemplateError } from './ngx-re.js';

describe('ngx.re replacement templates', () => {
  test('$0, $n, ${n} and $$', () => {
    assert.deepEqual(compileReplacement('[$0|$1|${12}|$$]'), ['[', 0, '|', 1, '|', 12, '|$]']);
    assert.deepEqual(compileReplacement(''), ['']);
  });

  test('anything else after $ is refused', () => {
    for (const bad of ['$x', '$', '${a}', '${1']) assert.throws(() => compileReplacement(bad), ReplacementTemplateError, bad);
  });
});

describe('ngx.re regex options', () => {
  test('i, s, m map onto the pattern; j/o/u are neutral; x, d and unknown letters are refused', () => {
    assert.ok(compileNgxRegex('HELLO', 'joi', false).test('say hello'));
    assert.ok(compileNgxRegex('a.b', 's', false).test('a\nb'));
    assert.ok(!compileNgxRegex('a.b', 'jo', false).test('a\nb'));
    assert.ok(compileNgxRegex('^b$', 'm', false).test('a\nb\nc'));
    assert.throws(() => compileNgxRegex('a', 'x', false), PcreError);
    assert.throws(() => compileNgxRegex('a', 'q', false), /unknown flag "q"/);
  });
});

describe('replaceMatches', () => {
  const re = (p: string, global: boolean, options = 'jo') => compileNgxRegex(p, options, global);

  test('once replaces the first match, global every match; undefined when nothing matched', () => {
    assert.equal(replaceMatches('a1 b2 c3', re('(\\w)(\\d)', false), compileReplacement('$2$1'), false), '1a b2 c3');
    assert.equal(replaceMatches('a1 b2 c3', re('(\\w)(\\d)', true), compileReplacement('$2$1'), true), '1a 2b 3c');
    assert.equal(replaceMatches('abc', re('z', true), compileReplacement('y'), true), undefined);
  });

  test('empty matches advance like PCRE gsub; a group that did not take part is empty', () => {
    assert.equal(replaceMatches('abc', re('x*', true), compileReplacement('-'), true), '-a-b-c-');
    assert.equal(replaceMatches('ab', re('a(z)?', false), compileReplacement('[$1]'), false), '[]b');
  });

  test('the same compiled regex can be reused (lastIndex is reset)', () => {
    const g = re('o', true);
    const r = compileReplacement('0');
    assert.equal(replaceMatches('foo', g, r, true), 'f00');
    assert.equal(replaceMatches('foo', g, r, true), 'f00');
  });
});
