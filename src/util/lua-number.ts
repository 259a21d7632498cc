/**
 * LuaJIT's `tonumber(v)` as lua-resty-expr uses it to coerce request
 * variables (spec/plugins.md §6.2): numbers pass through; strings may carry
 * surrounding whitespace, a sign, a decimal or exponent form (`1e3`, `.5`,
 * `5.`), a hexadecimal form (`0x10`, `0x1p4`), or `inf`/`nan`; anything else
 * (booleans, arrays, absent values, junk) is not a number.
 */

/** Whitespace as C's isspace() sees it: space, \t, \n, \v, \f, \r. */
const SPACE = '[ \\t\\n\\v\\f\\r]*';
const DECIMAL = new RegExp(`^${SPACE}([+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)${SPACE}$`);
const HEX = new RegExp(`^${SPACE}([+-]?)0[xX]([0-9a-fA-F]*)(?:\\.([0-9a-fA-F]*))?(?:[pP]([+-]?\\d+))?${SPACE}$`);
const SPECIAL = new RegExp(`^${SPACE}([+-]?)(inf|infinity|nan)${SPACE}$`, 'i');

function hexValue(sign: string, int: string, frac: string, exp: string | undefined): number | undefined {
  if (int.length === 0 && frac.length === 0) return undefined;
  let value = 0;
  for (let i = 0; i < int.length; i++) value = value * 16 + parseInt(int[i] as string, 16);
  let scale = 1 / 16;
  for (let i = 0; i < frac.length; i++, scale /= 16) value += parseInt(frac[i] as string, 16) * scale;
  if (exp !== undefined) value *= 2 ** Number(exp);
  return sign === '-' ? -value : value;
}

/**
 * @example
 *   luaToNumber(' 12 ');  // 12
 *   luaToNumber('0x10');  // 16
 *   luaToNumber('1e3');   // 1000
 *   luaToNumber('12px');  // undefined
 *   luaToNumber(true);    // undefined
 */
export function luaToNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const dec = DECIMAL.exec(value);
  if (dec) return Number(dec[1]);
  const hex = HEX.exec(value);
  if (hex) return hexValue(hex[1] ?? '', hex[2] ?? '', hex[3] ?? '', hex[4]);
  const special = SPECIAL.exec(value);
  if (special) {
    if ((special[2] as string).toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  return undefined;
}
