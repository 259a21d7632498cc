import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { luaNumber, luaQuote, luaToString, luaType } from './lua-text.js';

describe('luaType', () => {
  test('reports decoded JSON values with Lua type names', () => {
    assert.equal(luaType({}), 'table');
    assert.equal(luaType([1]), 'table');
    assert.equal(luaType('a'), 'string');
    assert.equal(luaType(1.5), 'number');
    assert.equal(luaType(false), 'boolean');
    assert.equal(luaType(null), 'userdata');
    assert.equal(luaType(undefined), 'nil');
  });
});

describe('luaNumber (%.14g)', () => {
  test('integers print without a decimal point', () => {
    assert.equal(luaNumber(0), '0');
    assert.equal(luaNumber(-1), '-1');
    assert.equal(luaNumber(65536), '65536');
    assert.equal(luaNumber(99999999999999), '99999999999999');
  });
  test('fractions keep at most 14 significant digits', () => {
    assert.equal(luaNumber(1.5), '1.5');
    assert.equal(luaNumber(0.1 + 0.2), '0.3');
    assert.equal(luaNumber(1 / 3), '0.33333333333333');
    assert.equal(luaNumber(0.0001), '0.0001');
  });
  test('large and tiny magnitudes use a two-digit exponent', () => {
    assert.equal(luaNumber(1e14), '1e+14');
    assert.equal(luaNumber(123456789012344), '1.2345678901234e+14');
    assert.equal(luaNumber(2 ** 53), '9.007199254741e+15');
    assert.equal(luaNumber(0.00001), '1e-05');
    assert.equal(luaNumber(1e100), '1e+100');
  });
  test('non-finite values', () => {
    assert.equal(luaNumber(Infinity), 'inf');
    assert.equal(luaNumber(-Infinity), '-inf');
    assert.equal(luaNumber(NaN), 'nan');
  });
});

describe('luaQuote (%q)', () => {
  test('wraps in double quotes and escapes quote, backslash and newline', () => {
    assert.equal(luaQuote('$#^@'), '"$#^@"');
    assert.equal(luaQuote('^\\S+$'), '"^\\\\S+$"');
    assert.equal(luaQuote('say "hi"'), '"say \\"hi\\""');
    assert.equal(luaQuote('a\nb'), '"a\\\nb"');
    assert.equal(luaQuote('a\rb'), '"a\\rb"');
    assert.equal(luaQuote('a\0b'), '"a\\0b"');
    assert.equal(luaQuote('a\x001'), '"a\\0001"');
  });
});

describe('luaToString', () => {
  test('formats ids the way tostring() does', () => {
    assert.equal(luaToString(1), '1');
    assert.equal(luaToString('r1'), 'r1');
    assert.equal(luaToString(true), 'true');
  });
});
