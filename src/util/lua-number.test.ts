import { test } from 'node:test';
import assert from 'node:assert/strict';
import { luaToNumber } from './lua-number.js';

test('luaToNumber follows LuaJIT tonumber', () => {
  const cases: Array<[unknown, number | undefined]> = [
    [12, 12],
    ['12', 12],
    [' 12 ', 12],
    ['\t-3.5\n', -3.5],
    ['+7', 7],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['.5', 0.5],
    ['5.', 5],
    ['0x10', 16],
    ['-0X1f', -31],
    ['0x1p4', 16],
    ['0x.8', 0.5],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['', undefined],
    ['  ', undefined],
    ['.', undefined],
    ['1e', undefined],
    ['0x', undefined],
    ['12px', undefined],
    ['1 2', undefined],
    ['١٢', undefined],
    [true, undefined],
    [undefined, undefined],
    [null, undefined],
    [['1'], undefined],
  ];
  for (const [input, expected] of cases) {
    assert.equal(luaToNumber(input), expected, JSON.stringify(input));
  }
  assert.ok(Number.isNaN(luaToNumber('nan')));
});
